/**
 * Membership, each change one script: a join merges two clusters (merge-3),
 * a leave, an eviction, a new leader or new settings change the cluster
 * itself (meta-3), computed from the state this node holds and committed
 * only if it is still current. A node that finds itself unlisted goes on
 * alone with its data; with join 'auto', discovery merges it into the
 * namespace's main cluster.
 */
import { GossipError, CouldNotConnectError } from '../errors.js';
import { pickCluster, union, without } from '../model/housekeeping.js';
import type { Book, State } from '../model/state.js';
import type { ResolvedOptions } from '../options.js';
import type { RedisClock } from '../transport/clock.js';
import { isHead } from '../transport/envelope.js';
import type { Messages } from '../transport/messages.js';
import type { Inbox } from './inbox.js';
import type { Store } from './store.js';

/** A change of the cluster itself, computed from the state it applies to. */
export interface MetaChange {
  readonly nodes?: readonly string[];
  readonly leader?: string;
  readonly fanout?: number;
  readonly gossipIntervalMs?: number;
  /** Why (it goes into the hash chain, and the logs). */
  readonly why: string;
  /** Nodes to tell that are not members any more. */
  readonly tell?: readonly string[];
  /** An evicted member, whose node key goes. */
  readonly evicted?: string;
  /** The least new version (after Redis lost commits). */
  readonly minVersion?: number;
}

export interface MembershipDeps<T> {
  readonly o: ResolvedOptions;
  readonly store: Store;
  readonly messages: Messages;
  readonly clock: RedisClock;
  readonly inbox: Inbox<T>;
  readonly restore: () => Promise<void>;
}

/** How many times a membership change is computed again after another change got in first. */
const ATTEMPTS = 8;

export class Membership<T> {
  readonly #d: MembershipDeps<T>;
  /** Set when this node left on purpose: discovery stays away until join() is called. */
  #paused = false;
  #rehoming: Promise<void> | undefined;

  constructor(deps: MembershipDeps<T>) {
    this.#d = deps;
  }

  get #self(): string {
    return this.#d.o.nodeId;
  }

  /** Takes `nodeId` and its whole cluster into this node's cluster. */
  async join(nodeId: string): Promise<void> {
    if (nodeId === this.#self) return;
    this.#paused = false;
    const { inbox, store, messages, o } = this.#d;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // It must answer (signed, when there is a secret): a node that is not there, or holds another secret, is not joined.
      const head = await messages.request(nodeId, 'headreq', {}, o.rpcTimeoutMs).catch((err: unknown) => {
        throw new CouldNotConnectError(nodeId, { cause: err });
      });
      if (!isHead(head)) throw new CouldNotConnectError(nodeId);
      if (head.cluster === inbox.state.cluster) {
        if (inbox.state.nodes.includes(nodeId)) return;
        await inbox.read(inbox.state.cluster);
        if (inbox.state.nodes.includes(nodeId)) return;
        continue;
      }
      const theirs = await store.read(head.cluster);
      if (!theirs) throw new CouldNotConnectError(nodeId);
      if (await this.#merge(inbox.state, theirs.state)) return;
    }
    throw new GossipError('join_failed', `joining ${nodeId} kept conflicting with other changes`);
  }

  /** Removes `nodeId`; reading the result, a node that left finds itself unlisted and goes on alone. */
  async leave(nodeId: string): Promise<void> {
    if (nodeId === this.#self) this.#paused = true;
    const s = this.#d.inbox.state;
    if (!s.nodes.includes(nodeId) || s.nodes.length === 1) return;
    await this.commit((cur) => ({ ...without(cur.nodes, cur.leader, nodeId, this.#self), why: `leave ${nodeId}`, tell: [nodeId] }));
  }

  /**
   * Commits a change of members, leader or settings computed from the
   * current state; computed again on a conflict, and dropped when `compute`
   * finds nothing to change any more (undefined).
   */
  async commit(compute: (s: State<T>) => MetaChange | undefined): Promise<void> {
    const { inbox, store } = this.#d;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const s = inbox.state;
      const c = compute(s);
      if (c === undefined) return;
      const reply = await store.meta(s, s.hash, {
        nodes: c.nodes ?? s.nodes,
        leader: c.leader ?? s.leader,
        fanout: c.fanout ?? s.fanout,
        gossipIntervalMs: c.gossipIntervalMs ?? s.gossipIntervalMs,
        why: c.why,
        ...(c.tell ? { tell: c.tell } : {}),
        ...(c.evicted ? { evicted: c.evicted } : {}),
        ...(c.minVersion ? { minVersion: c.minVersion } : {}),
      });
      if (reply.kind === 'ok') {
        await inbox.read(s.cluster);
        return;
      }
      if (reply.kind === 'missing') await this.#d.restore();
      else await inbox.read(s.cluster);
    }
    throw new GossipError('write_failed', 'the cluster change kept conflicting with other changes');
  }

  /** `absorbed` joins `target`; true when done (false: one side moved on, look again). */
  async #merge(target: State<unknown>, absorbed: State<unknown>): Promise<boolean> {
    const { inbox, store, o } = this.#d;
    const nodes = union(target.nodes, absorbed.nodes);
    const reply = await store.merge(target, absorbed, nodes, target.leader);
    if (reply.kind !== 'ok') {
      // Only a refresh before the caller looks again (join's next attempt, discovery's next tick), which reads anyway: its failure changes nothing.
      if (absorbed.cluster === inbox.state.cluster || target.cluster === inbox.state.cluster) await inbox.read(inbox.state.cluster).catch(() => undefined);
      return false;
    }
    o.logger.info(`simple-gossip: ${this.#self}: cluster ${absorbed.cluster} joined ${target.cluster} (${nodes.length} members)`);
    await inbox.read(target.cluster);
    return true;
  }

  /** Joins the best live cluster of the namespace, if it is not this node's own (join 'auto'). */
  async discover(): Promise<void> {
    if (this.#paused || this.#d.o.join !== 'auto') return;
    const { store, inbox, clock } = this.#d;
    const target = pickCluster(await store.registry(), inbox.state.cluster, clock.now());
    if (target === undefined) return;
    const theirs = await store.read(target);
    if (theirs) await this.#merge(theirs.state, inbox.state);
  }

  /**
   * This node's cluster no longer lists it (it left, was removed, or was
   * evicted while cut off): it goes on alone with its data, in a cluster of
   * its own at a higher version; with join 'auto', discovery takes it back.
   */
  removed(): Promise<void> {
    this.#rehoming ??= (async () => {
      const s = this.#d.inbox.state;
      this.#d.o.logger.info(`simple-gossip: ${this.#self} is no longer a member of ${s.cluster}; it goes on alone with its data`);
      await this.startCluster(s.data, this.#d.inbox.book, s.version);
      await this.discover();
    })().finally(() => (this.#rehoming = undefined));
    return this.#rehoming;
  }

  /** Starts a one-node cluster of this node's own with `data`, at a version above `after`. */
  async startCluster(data: T | undefined, book: Book, after: number): Promise<void> {
    const { store, inbox, clock, o } = this.#d;
    const gossipIntervalMs = (inbox.state as State<T> | undefined)?.gossipIntervalMs ?? o.gossipIntervalMs;
    const state: State<T> = {
      cluster: `${this.#self}@${clock.now().toString(36)}.${Math.random().toString(36).slice(2, 6)}`,
      version: after + 1,
      hash: '',
      data,
      leader: this.#self,
      nodes: [this.#self],
      fanout: o.fanout,
      gossipIntervalMs,
    };
    const put = await store.put('create', { state, book: { ...book, created: 0 } });
    const stored = { state: { ...state, hash: put.hash }, book: { ...book, created: put.at } };
    if ((inbox.state as State<T> | undefined) === undefined) inbox.adopt(stored);
    else inbox.install(stored.state, stored.book);
  }
}
