import type { GossipEvents, GossipEventType, Handler } from './events.js';
import type { LatencyListener } from './latency.js';
import type { MetricsSnapshot } from './metrics.js';
import type { State } from './model/state.js';
import { Node } from './node/node.js';
import type { StatusResult, StopOptions } from './node/node.js';
import type { GossipOptions } from './options.js';
import type { SetSyncOptions } from './propagation.js';
import type { Updater } from './updates.js';

export type { StatusResult, StopOptions } from './node/node.js';

/** The whole state of a cluster as a node holds it (the original's "rumor"). */
export type Rumor<T = unknown> = State<T>;

/**
 * One member of a simple-gossip cluster. Create it with {@link Gossip.start}.
 *
 * Every write is one Lua script on the cluster's state in Redis, sent by
 * the node that makes the call; the change reaches every other member one
 * pub/sub hop later. Reads come from a process-local frozen copy.
 */
export class Gossip<T = unknown> {
  readonly #node: Node<T>;

  private constructor(node: Node<T>) {
    this.#node = node;
  }

  /**
   * Starts a node: connects (bounded by `connectTimeoutMs` and `signal`),
   * refuses a `nodeId` that is live in the namespace, and takes its
   * cluster's state from Redis in one read — or starts a one-node cluster.
   */
  static async start<T = unknown>(options: GossipOptions = {}): Promise<Gossip<T>> {
    return new Gossip<T>(await Node.start<T>(options));
  }

  // ---- the local view -------------------------------------------------

  /** This node's id. */
  get id(): string {
    return this.#node.id;
  }
  /** The namespace this node's cluster lives in. */
  get namespace(): string {
    return this.#node.namespace;
  }
  /** The member that does the housekeeping (eviction, discovery, restores); it serialises nothing. */
  get leader(): string {
    return this.#node.rumor.leader;
  }
  /** The members, in the order every member shares. */
  get nodes(): readonly string[] {
    return this.#node.rumor.nodes;
  }
  /** The cluster version this node holds. */
  get version(): number {
    return this.#node.rumor.version;
  }
  /** The whole state this node holds (frozen). */
  get rumor(): Rumor<T> {
    return this.#node.rumor;
  }

  /** The current data, deep-frozen. Synchronous; as cheap as a property read. */
  get(): T | undefined {
    return this.#node.rumor.data;
  }

  /** Config mode: the value under `key` of the data object, or `dflt`. */
  getCfg<V = unknown>(key: string, dflt?: V): V | undefined {
    return this.#node.getCfg(key, dflt);
  }

  /** True while the node runs and its Redis connections are up: a liveness probe. */
  get ready(): boolean {
    return this.#node.ready;
  }

  /** False from a start or reconnect until this node has compared its state with Redis's: a readiness probe. */
  get synced(): boolean {
    return this.#node.synced;
  }

  /** Resolves once {@link synced} (at once if it is); rejects after `timeoutMs` or when `signal` aborts. */
  whenSynced(options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {}): Promise<void> {
    return this.#node.whenSynced(options);
  }

  // ---- writes ---------------------------------------------------------

  /**
   * Sets the data: a value, or an updater run on this node against its
   * latest data (again if another write got in first). One commit script
   * in Redis; resolves once this node holds the result.
   */
  async set(valueOrUpdater: T | undefined | Updater<T>): Promise<void> {
    await this.#node.set(valueOrUpdater);
  }

  /** {@link set}, then waits until the members hold the written version (all, a majority, or a count). */
  async setSync(valueOrUpdater: T | undefined | Updater<T>, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#node.converge(() => this.#node.set(valueOrUpdater), options);
  }

  /** Config mode: sets `key` of the data object, in Redis, touching no other key (so config writes never conflict). */
  async setCfg(key: string, value: unknown): Promise<void> {
    await this.#node.patch(new Map([[key, value]]), []);
  }

  /** {@link setCfg}, then waits like {@link setSync}. */
  async setCfgSync(key: string, value: unknown, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#node.converge(() => this.#node.patch(new Map([[key, value]]), []), options);
  }

  /** Config mode: removes `key`; `getCfg(key, dflt)` returns `dflt` afterwards, everywhere. */
  async deleteCfg(key: string): Promise<void> {
    await this.#node.patch(new Map(), [key]);
  }

  /** {@link deleteCfg}, then waits like {@link setSync}. */
  async deleteCfgSync(key: string, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#node.converge(() => this.#node.patch(new Map(), [key]), options);
  }

  /** Config mode: several keys in one commit; a key given `undefined` is removed. */
  async patchCfg(changes: Readonly<Record<string, unknown>>): Promise<void> {
    const entries = Object.entries(changes);
    await this.#node.patch(new Map(entries.filter(([, v]) => v !== undefined)), entries.filter(([, v]) => v === undefined).map(([k]) => k));
  }

  // ---- membership and settings ----------------------------------------

  /**
   * Takes `nodeId` and its whole cluster into this node's cluster. Nothing
   * acknowledged is dropped: config keys are merged key by key (a key both
   * sides wrote keeps the later write), otherwise the side written last
   * wins, and a cluster never written never wins.
   */
  join(nodeId: string): Promise<void> {
    return this.#node.join(nodeId);
  }

  /** Removes `nodeId` (this node or another); the removed node goes on alone with the data it had. */
  leave(nodeId: string): Promise<void> {
    return this.#node.leave(nodeId);
  }

  /** Sets the anti-entropy period, cluster-wide. */
  setGossipInterval(ms: number): Promise<void> {
    return this.#node.setGossipInterval(ms);
  }

  /** Sets how many members get this node's head each anti-entropy tick, cluster-wide. */
  setFanout(k: number): Promise<void> {
    return this.#node.setFanout(k);
  }

  /** Asks every member for its version: ok, `gossip_vsn_mismatch`, or `timeout` with the silent ones. */
  status(): Promise<StatusResult> {
    return this.#node.status();
  }

  // ---- events ---------------------------------------------------------

  /** Calls `handler` on every change of the data (or of the whole state); returns its unsubscribe. */
  subscribe(handler: Handler<GossipEvents<T, Rumor<T>>['data']>, type?: 'data'): () => void;
  subscribe(handler: Handler<GossipEvents<T, Rumor<T>>['rumor']>, type: 'rumor'): () => void;
  subscribe(handler: Handler<never>, type: 'data' | 'rumor' = 'data'): () => void {
    const h = handler as Handler<GossipEvents<T, Rumor<T>>[typeof type]>;
    this.#node.on(type, h);
    return () => this.#node.off(type, h);
  }

  /** Stops `handler` from receiving any event it was subscribed to. */
  unsubscribe(handler: Handler<never>): void {
    this.#node.offAll(handler);
  }

  /** Calls `fn` whenever the value under `key` changes (config mode), with the version; returns its unsubscribe. */
  onKey(key: string, fn: (value: unknown, info: { readonly version: number }) => void): () => void {
    return this.#node.onKey(key, fn);
  }

  /** Listens to 'data', 'rumor' or 'error' (a handler that throws is reported on 'error', never breaks the node). */
  on<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, Rumor<T>>[K]>): this {
    this.#node.on(type, handler);
    return this;
  }

  /** Stops listening (only this handler, for this event). */
  off<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, Rumor<T>>[K]>): this {
    this.#node.off(type, handler);
    return this;
  }

  /** Counters since start, a few gauges, and the latency histograms. */
  metrics(): MetricsSnapshot {
    return this.#node.metrics();
  }

  /**
   * Calls `fn` with each latency (`'write'`, `'convergence'`, `'catchUp'`, in
   * ms) as it is measured — the samples behind `metrics().latency`, for a
   * metrics library of your own. Returns its unsubscribe.
   */
  onLatency(fn: LatencyListener): () => void {
    return this.#node.onLatency(fn);
  }

  // ---- lifecycle ------------------------------------------------------

  /**
   * Stops the node: a leader hands the housekeeping over, the node key is
   * written, pending calls are rejected, and the connections it opened are
   * closed. Idempotent.
   */
  stop(options?: StopOptions): Promise<void> {
    return this.#node.stop(options);
  }

  /** `await using node = await Gossip.start(...)` stops it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
