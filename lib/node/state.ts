import { isDeepStrictEqual } from 'node:util';
import type { EventBus } from '../events.js';
import { deepFreeze } from '../freeze.js';
import type { Metrics } from '../metrics.js';
import * as R from '../model/rumor.js';
import type { Rumor } from '../model/rumor.js';
import type { Logger } from '../options.js';
import type { SnapshotStore } from '../snapshot.js';
import { Pushes } from './pushes.js';
import type { Pushed } from './pushes.js';
import type { Wire } from '../transport/wire.js';

export interface StateDeps<T> {
  readonly self: string;
  /** Redis publishes one message to many channels for us (see {@link Pushes.fansOut}). */
  readonly fansOut: boolean;
  readonly wire: Wire;
  readonly snapshot: SnapshotStore<T>;
  readonly events: EventBus<T>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Called when a change alters the anti-entropy period. */
  readonly onIntervalChange: () => void;
  /** Called when a change means this node no longer leads the cluster it led. */
  readonly onLeadershipLost: () => void;
}

export interface CommitOptions {
  /** The snapshot is already written (the leader's fenced commit). */
  readonly persisted?: boolean;
  /** The node that started the wave this change came in (default: this node). */
  readonly root?: string;
  /** The push is already published (in the leader's commit script). */
  readonly pushed?: Pushed;
  /** False: push nothing (the change came in a star push, which every member got). */
  readonly passOn?: boolean;
}

/**
 * What a node knows, and everything that follows a change of it: the frozen
 * read cache, the events, the snapshot, and the push down the epidemic tree.
 * Only the node's mailbox calls the mutating methods.
 */
export class NodeState<T> {
  readonly #d: StateDeps<T>;
  /** This node's pushes. */
  readonly pushes: Pushes<T>;
  #rumor!: Rumor<T>;
  #frozen: T | undefined;
  /** Members known to be gone (nobody listened, or no answer); cleared when they speak again. */
  readonly down = new Set<string>();
  /** False from a (re)connect until this node has compared its rumor with a live member's. */
  synced = false;
  /**
   * The newest rumor of the cluster this node was removed from (or left): it
   * no longer lists this node. Kept to point former members that still
   * write to or gossip with this node at their cluster's state.
   */
  former: Rumor<T> | undefined;
  /** The highest version of this node's cluster it has been shown (heads and rumors). */
  seenVersion = 0;
  /** Who waits for this node to hold a version (see {@link whenVersion}). */
  readonly #versionWaiters = new Set<{ readonly atLeast: number; readonly done: () => void }>();

  constructor(deps: StateDeps<T>) {
    this.#d = deps;
    this.pushes = new Pushes<T>(deps.self, deps.fansOut, deps.wire);
  }

  get rumor(): Rumor<T> {
    return this.#rumor;
  }

  /** The data, deep-frozen. */
  get data(): T | undefined {
    return this.#frozen;
  }

  isLeader(): boolean {
    return this.#rumor.leader === this.#d.self;
  }

  /**
   * Makes `next` this node's rumor: the frozen cache, events, the snapshot,
   * and a push to this node's children in the broadcast tree of `root` (this
   * node, unless it is passing on another's change; never back to `from`;
   * also to `extra`).
   */
  commit(next: Rumor<T>, from?: string, extra: readonly string[] = [], options: CommitOptions = {}): void {
    const prev = this.#rumor;
    const dataChanged = this.install(next);
    next = this.#rumor;
    const self = this.#d.self;
    if (prev.leader === self && (next.leader !== self || next.cluster !== prev.cluster)) this.#d.onLeadershipLost();
    const root = options.root !== undefined && next.nodes.includes(options.root) ? options.root : self;
    if (options.pushed) this.pushes.published(next, root, options.pushed);
    else if (options.passOn !== false || extra.length > 0) this.pushes.push({ rumor: next, root, from, extra });
    if (next.gossipIntervalMs !== prev.gossipIntervalMs) this.#d.onIntervalChange();
    this.#d.events.emit('rumor', next);
    if (dataChanged) this.#d.events.emit('data', { data: this.#frozen, version: next.version });
    // A member's copy is written after the change's events (the leader's first: it answers for the write).
    if (!options.persisted) this.#d.snapshot.save(next, next.leader !== this.#d.self);
  }

  /** Sets the rumor and the frozen cache, nothing else; true when the data changed. */
  install(next: Rumor<T>): boolean {
    const prev = this.#rumor as Rumor<T> | undefined;
    if (prev !== undefined && (prev.data === next.data || isDeepStrictEqual(prev.data, next.data))) {
      // Same data: keep the frozen copy, so get() keeps returning the same object.
      this.#rumor = Object.freeze({ ...next, data: prev.data });
      this.#wakeVersionWaiters();
      return false;
    }
    this.#frozen = deepFreeze(next.data);
    this.#rumor = Object.freeze(next);
    this.#wakeVersionWaiters();
    return prev !== undefined;
  }

  /** Resolves to this node's version once it is at least `atLeast`, or after `waitMs` with the version then. */
  whenVersion(atLeast: number, waitMs: number): Promise<number> {
    if (this.#rumor.version >= atLeast || waitMs <= 0) return Promise.resolve(this.#rumor.version);
    return new Promise((resolve) => {
      const waiter = {
        atLeast,
        done: () => {
          clearTimeout(timer);
          this.#versionWaiters.delete(waiter);
          resolve(this.#rumor.version);
        },
      };
      const timer = setTimeout(waiter.done, waitMs);
      timer.unref();
      this.#versionWaiters.add(waiter);
    });
  }

  #wakeVersionWaiters(): void {
    for (const w of this.#versionWaiters) if (this.#rumor.version >= w.atLeast) w.done();
  }

  /** The accept rule, applied (see {@link R.reconcile}); `root` started the wave that brought it. */
  consider(incoming: Rumor<T>, from: string, root?: string, star = false): void {
    const self = this.#d.self;
    if (incoming.nodes.includes(self) && this.#rumor.nodes.includes(from)) this.synced = true;
    if (this.former && incoming.cluster === this.former.cluster && R.compare(this.former, incoming) === 'newer') this.former = incoming;
    if (incoming.cluster === this.#rumor.cluster && incoming.version > this.seenVersion) this.seenVersion = incoming.version;
    const outcome = R.reconcile(this.#rumor, incoming, self, Date.now());
    this.#d.metrics.count(`reconcile.${outcome.kind}`);
    switch (outcome.kind) {
      case 'keep':
        return;
      case 'adopt':
        this.commit(outcome.next, from, [], { root: root ?? from, passOn: !star });
        return;
      case 'merge':
        this.commit(outcome.next);
        return;
      case 'removed':
        this.#d.logger.info(`simple-gossip: ${self} was removed from the cluster; it goes on alone`);
        this.former = incoming;
        this.commit(outcome.next);
        return;
    }
  }

  /** Whether `id` was a member of the cluster this node left, and is not one of its own now. */
  formerMember(id: string): boolean {
    return this.former !== undefined && this.former.nodes.includes(id) && !this.#rumor.nodes.includes(id);
  }

  /** A leader adds this node: the side with the higher version wins (see {@link R.acceptJoin}). */
  acceptJoin(incoming: Rumor<T>, leader: string): { rumor?: Rumor<T> } {
    const { next, upgraded } = R.acceptJoin(this.#rumor, incoming, this.#d.self, Date.now());
    // The leader's commit of the join reaches every member but this one: as a star, all of them;
    // down its broadcast tree, all but this node's subtree, which this node serves.
    this.commit(next, leader, [], this.pushes.fansOut ? { passOn: false } : { root: leader });
    return upgraded ? { rumor: next } : {};
  }
}
