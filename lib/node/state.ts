import { isDeepStrictEqual } from 'node:util';
import type { EventBus } from '../events.js';
import { deepFreeze } from '../freeze.js';
import type { Metrics } from '../metrics.js';
import * as R from '../model/rumor.js';
import type { Rumor } from '../model/rumor.js';
import { STAR_GAP_PER_MEMBER_MS } from '../constants.js';
import { BroadcastCache } from '../model/tree.js';
import type { Logger } from '../options.js';
import type { SnapshotStore } from '../snapshot.js';
import type { Wire } from '../transport/wire.js';

export interface StateDeps<T> {
  readonly self: string;
  /** Redis publishes one message to many channels for us (see {@link NodeState.fansOut}). */
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

/** A push already published for a commit: its targets, and how many listened to each. */
export interface Pushed {
  readonly targets: readonly string[];
  readonly listeners: readonly number[];
}

export interface CommitOptions {
  /** The snapshot is already written (the leader's fenced commit). */
  readonly persisted?: boolean;
  /** The node that started the wave this change came in (default: this node). */
  readonly root?: string;
  /** The push is already published (see {@link Pushed}). */
  readonly pushed?: Pushed;
  /** False: push nothing (the change came in a star push, which every member got). */
  readonly passOn?: boolean;
}

/** One change to push: to this node's children in the broadcast tree of `root`, never back to `from`, and to `extra`. */
interface Wave<T> {
  readonly rumor: Rumor<T>;
  readonly root: string;
  readonly from: string | undefined;
  readonly extra: readonly string[];
}

/**
 * What a node knows, and everything that follows a change of it: the frozen
 * read cache, the events, the snapshot, and the push down the epidemic tree.
 * Only the node's mailbox calls the mutating methods.
 */
export class NodeState<T> {
  readonly #d: StateDeps<T>;
  readonly #broadcast = new BroadcastCache();
  /** A push on its way, and the changes waiting for it (the newest of each cluster in a row). */
  #pushing = false;
  readonly #waiting: Wave<T>[] = [];
  /** The timer of a star push held back by pacing, and when the last star went. */
  #paced: NodeJS.Timeout | undefined;
  #lastStar = -Infinity;
  #idle: Promise<void> | undefined;
  #whenIdle: () => void = () => undefined;
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
    if (options.pushed) {
      this.#lastStar = performance.now();
      this.#handOff(next, root, options.pushed);
    } else if (options.passOn !== false || extra.length > 0) this.#push({ rumor: next, root, from, extra });
    if (next.gossipIntervalMs !== prev.gossipIntervalMs) this.#d.onIntervalChange();
    this.#d.events.emit('rumor', next);
    if (dataChanged) this.#d.events.emit('data', { data: this.#frozen, version: next.version });
    // A member's copy may lag a moment behind (the leader's and the other members' hold the change too).
    if (!options.persisted) this.#d.snapshot.save(next, next.leader !== this.#d.self);
  }

  /**
   * Pushes a change; under load only the newest: while one push is on its
   * way, later changes wait, and each newer one replaces the one waiting.
   * A star (see {@link fansOut}) wakes every member, so stars are paced:
   * one at most every {@link STAR_GAP_PER_MEMBER_MS} per member, the
   * newest change waiting meanwhile — a lone change goes out at once.
   */
  #push(wave: Wave<T>): void {
    if (this.#pushing || this.#paced) {
      this.#wait(wave);
      return;
    }
    this.#idle ??= new Promise((resolve) => (this.#whenIdle = resolve));
    const { rumor, root } = wave;
    const star = root === this.#d.self && this.#d.fansOut;
    const early = star ? this.#starDue(rumor) - performance.now() : 0;
    if (early > 0) {
      this.#wait(wave);
      this.#paced = setTimeout(() => {
        this.#paced = undefined;
        this.#next();
      }, Math.ceil(early));
      return;
    }
    this.#pushing = true;
    if (star) this.#lastStar = performance.now();
    const targets = this.pushTargets(rumor, wave.from, wave.extra, root);
    void this.#spread(rumor, root, targets, new Set([this.#d.self, ...targets]), star).finally(() => {
      this.#pushing = false;
      this.#next();
    });
  }

  /** Pushes the next waiting change, or reports that every change is out. */
  #next(): void {
    const next = this.#waiting.shift();
    if (next) return this.#push(next);
    this.#idle = undefined;
    this.#whenIdle();
  }

  #wait(wave: Wave<T>): void {
    const last = this.#waiting.at(-1);
    if (last && last.rumor.cluster === wave.rumor.cluster) {
      // The newer rumor of the same cluster carries the older one's change. The extra targets
      // (a removed node, a new leader) must still hear; the sender to skip may differ.
      this.#waiting[this.#waiting.length - 1] = { ...wave, from: undefined, extra: [...new Set([...last.extra, ...wave.extra])] };
    } else {
      // Another cluster's rumor (this node left, or was removed) does not replace the last word to the old one.
      this.#waiting.push(wave);
    }
  }

  /** When this node's next star push of `rumor` may go (performance.now() time). */
  #starDue(rumor: Rumor<T>): number {
    return this.#lastStar + STAR_GAP_PER_MEMBER_MS * (rumor.nodes.length - 1);
  }

  /** Whether a star push of `rumor` may go now, in the leader's commit (nothing waiting, not too soon). */
  mayStar(rumor: Rumor<T>): boolean {
    return this.#d.fansOut && !this.#pushing && !this.#paced && this.#waiting.length === 0 && performance.now() >= this.#starDue(rumor);
  }

  /**
   * Whether the changes this node starts go out as a star: where Redis fans
   * one message out to many channels (a standalone Redis), the node sends a
   * change to every member in one command — one hop for all, nobody passes
   * it on. Otherwise (Redis Cluster) changes travel down the broadcast tree
   * of the epidemic tree, `fanout` pushes per node.
   */
  get fansOut(): boolean {
    return this.#d.fansOut;
  }

  /**
   * Who this node pushes `rumor` to: every other member when it starts the
   * change and Redis fans out; else its children in the broadcast tree of
   * `root`. And `extra`; never `from`.
   */
  pushTargets(rumor: Rumor<T>, from: string | undefined, extra: readonly string[], root = this.#d.self): string[] {
    const self = this.#d.self;
    const targets = new Set(root === self && this.#d.fansOut ? rumor.nodes : this.#broadcast.children(rumor.nodes, rumor.fanout, root, self));
    for (const n of extra) targets.add(n);
    targets.delete(self);
    if (from !== undefined) targets.delete(from);
    return [...targets];
  }

  /** After a push sent elsewhere (in the leader's commit): the subtrees of the targets nobody listened for. */
  #handOff(rumor: Rumor<T>, root: string, pushed: Pushed): void {
    const absent = pushed.targets.filter((_, i) => pushed.listeners[i] === 0);
    if (absent.length === 0) return;
    void this.#forward(rumor, root, absent, new Set([this.#d.self, ...pushed.targets]));
  }

  /** Resolves once every change so far has been pushed (published to Redis). */
  async pushed(): Promise<void> {
    await this.#idle;
  }

  /**
   * Pushes down the broadcast tree; when nobody listens for a child (a
   * PUBLISH that reached 0), its children get the push instead, so one dead
   * member does not cut its subtree off until the next anti-entropy round.
   */
  async #spread(rumor: Rumor<T>, root: string, targets: string[], sent: Set<string>, star = false): Promise<void> {
    const absent = await this.#d.wire.push(rumor, targets, root === this.#d.self ? undefined : root, star).catch(() => []);
    await this.#forward(rumor, root, absent, sent);
  }

  /** Pushes to the children of `absent` (targets nobody listened for) instead. */
  async #forward(rumor: Rumor<T>, root: string, absent: readonly string[], sent: Set<string>): Promise<void> {
    const next = absent
      .filter((id) => rumor.nodes.includes(id))
      .flatMap((id) => this.#broadcast.children(rumor.nodes, rumor.fanout, root, id))
      .filter((id) => !sent.has(id));
    for (const id of next) sent.add(id);
    if (next.length > 0) await this.#spread(rumor, root, next, sent);
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
    this.commit(next, leader, [], this.#d.fansOut ? { passOn: false } : { root: leader });
    return upgraded ? { rumor: next } : {};
  }
}
