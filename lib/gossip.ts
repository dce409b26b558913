import type { GossipEvents, GossipEventType, Handler } from './events.js';
import type { LatencyListener } from './latency.js';
import type { MetricsSnapshot } from './metrics.js';
import type { State } from './model/state.js';
import { Node } from './node/node.js';
import type { StatusResult, StopOptions } from './node/node.js';
import type { GossipOptions } from './options.js';
import type { SetSyncOptions } from './propagation.js';
import type { CfgKey, CfgPatch, CfgValue, DeepReadonly, KeyHandler, OptionalCfgKey, Updater } from './types.js';
import type { Updater as NodeUpdater } from './updates.js';

export type { StatusResult, StopOptions } from './node/node.js';

/** The whole state of a cluster as a node holds it (the original's "rumor"), deep-frozen. */
export type Rumor<T = unknown> = State<DeepReadonly<T>>;

/** The events of a node whose data is `T`: 'data', 'rumor', 'error'. */
type Events<T> = GossipEvents<DeepReadonly<T>, Rumor<T>>;

/** A config value: what the node holds is a defined value when a default was given. */
type Defined<V> = DeepReadonly<Exclude<V, undefined>>;

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
   * `T` is the data's type: given (`start<Flags>()`), or inferred from
   * `schema`; without either, the data is `unknown` and config keys any string.
   */
  static async start<T = unknown>(options: GossipOptions<T> = {}): Promise<Gossip<T>> {
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
    return this.#node.rumor as Rumor<T>;
  }

  /** The current data, deep-frozen (so typed deep-readonly). Synchronous; as cheap as a property read. */
  get(): DeepReadonly<T> | undefined {
    return this.#node.rumor.data as DeepReadonly<T> | undefined;
  }

  /** Config mode: the value under `key` of the data object, or `undefined`. */
  getCfg<K extends CfgKey<T>>(key: K): DeepReadonly<CfgValue<T, K>> | undefined;
  /** Config mode: the value under `key` of the data object, or `dflt` when it has none. */
  getCfg<K extends CfgKey<T>>(key: K, dflt: Defined<CfgValue<T, K>>): Defined<CfgValue<T, K>>;
  getCfg(key: string, dflt?: unknown): unknown {
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
   * Sets the data: an updater run on this node against its latest data
   * (again if another write got in first), or a value (`undefined` clears).
   * One commit script in Redis; resolves once this node holds the result.
   * With `schema`, data that does not match rejects with `ValidationError`
   * before anything is sent.
   */
  async set(updater: Updater<T>): Promise<void>;
  async set(value: DeepReadonly<T> | undefined): Promise<void>;
  async set(valueOrUpdater: unknown): Promise<void> {
    await this.#node.set(valueOrUpdater as T | NodeUpdater<T>);
  }

  /** {@link set}, then waits until the members hold the written version (all, a majority, or a count). */
  async setSync(updater: Updater<T>, options?: SetSyncOptions): Promise<void>;
  async setSync(value: DeepReadonly<T> | undefined, options?: SetSyncOptions): Promise<void>;
  async setSync(valueOrUpdater: unknown, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#node.converge(() => this.#node.set(valueOrUpdater as T | NodeUpdater<T>), options);
  }

  /** Config mode: sets `key` of the data object, in Redis, touching no other key (so config writes never conflict). */
  async setCfg<K extends CfgKey<T>>(key: K, value: Defined<CfgValue<T, K>>): Promise<void> {
    await this.#node.patch(new Map([[key, value]]), []);
  }

  /** {@link setCfg}, then waits like {@link setSync}. */
  async setCfgSync<K extends CfgKey<T>>(key: K, value: Defined<CfgValue<T, K>>, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#node.converge(() => this.#node.patch(new Map([[key, value]]), []), options);
  }

  /** Config mode: removes `key` (of a typed config: an optional one); `getCfg(key, dflt)` returns `dflt` afterwards, everywhere. */
  async deleteCfg(key: OptionalCfgKey<T>): Promise<void> {
    await this.#node.patch(new Map(), [key]);
  }

  /** {@link deleteCfg}, then waits like {@link setSync}. */
  async deleteCfgSync(key: OptionalCfgKey<T>, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#node.converge(() => this.#node.patch(new Map(), [key]), options);
  }

  /** Config mode: several keys in one commit; a key given `undefined` is removed. */
  async patchCfg(changes: CfgPatch<T>): Promise<void> {
    const entries: [string, unknown][] = Object.entries(changes);
    await this.#node.patch(
      new Map(entries.filter(([, v]) => v !== undefined)),
      entries.filter(([, v]) => v === undefined).map(([k]) => k),
    );
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
  subscribe(handler: Handler<Events<T>['data']>, type?: 'data'): () => void;
  subscribe(handler: Handler<Events<T>['rumor']>, type: 'rumor'): () => void;
  subscribe(handler: Handler<never>, type: 'data' | 'rumor' = 'data'): () => void {
    const h = handler as Handler<GossipEvents<T>[typeof type]>;
    this.#node.on(type, h);
    return () => this.#node.off(type, h);
  }

  /** Stops `handler` from receiving any event it was subscribed to. */
  unsubscribe(handler: Handler<never>): void {
    this.#node.offAll(handler);
  }

  /** Calls `fn` whenever the value under `key` changes (config mode; `undefined` once removed), with the version; returns its unsubscribe. */
  onKey<K extends CfgKey<T>>(key: K, fn: KeyHandler<CfgValue<T, K>>): () => void {
    return this.#node.onKey(key, fn as (value: unknown, info: { readonly version: number }) => void);
  }

  /** Listens to 'data', 'rumor' or 'error' (a handler that throws is reported on 'error', never breaks the node). */
  on<K extends GossipEventType>(type: K, handler: Handler<Events<T>[K]>): this {
    this.#node.on(type, handler as Handler<GossipEvents<T>[K]>);
    return this;
  }

  /** Stops listening (only this handler, for this event). */
  off<K extends GossipEventType>(type: K, handler: Handler<Events<T>[K]>): this {
    this.#node.off(type, handler as Handler<GossipEvents<T>[K]>);
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
