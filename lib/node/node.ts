/**
 * One member: the parts wired together, its start and stop, and the calls
 * the facade (lib/gossip.ts) makes. Writes are lib/node/writes.ts (one
 * commit script each), the state and every input lib/node/inbox.ts,
 * membership lib/node/membership.ts, the tick and the restores
 * lib/node/housekeeping.ts, the Redis side lib/node/store.ts.
 */
import { CfgView, deleteCfgUpdater, setCfgUpdater } from '../cfg.js';
import { GOSSIP_JITTER_MS, REPLAY_WINDOW_MS } from '../constants.js';
import { GossipError, NodeIdInUseError, StoppedError, SubscriberError } from '../errors.js';
import type { GossipEvents, GossipEventType, Handler } from '../events.js';
import { Metrics } from '../metrics.js';
import type { LatencyListener } from '../latency.js';
import type { MetricsSnapshot } from '../metrics.js';
import { SILENT_PERIODS } from '../model/housekeeping.js';
import { chooseLeader } from '../model/leader.js';
import { isRecord } from '../model/state.js';
import type { State } from '../model/state.js';
import { resolveOptions } from '../options.js';
import type { GossipOptions, ResolvedOptions } from '../options.js';
import { awaitVersion } from '../propagation.js';
import type { SetSyncOptions } from '../propagation.js';
import { Signer } from '../signing.js';
import { RedisClock } from '../transport/clock.js';
import { Connection } from '../transport/connection.js';
import { isHead } from '../transport/envelope.js';
import { Keys } from '../transport/keys.js';
import { Messages } from '../transport/messages.js';
import type { Updater } from '../updates.js';
import { patched, SchemaGuard } from '../validation.js';
import { Housekeeping } from './housekeeping.js';
import { EMPTY_BOOK, Inbox } from './inbox.js';
import type { KeyListener } from './inbox.js';
import { Membership } from './membership.js';
import { Store } from './store.js';
import type { NodeKey } from './store.js';
import { Writer } from './writes.js';

/** What {@link Node.status} answers: the original's three results, in one shape. */
export type StatusResult =
  | { readonly ok: true; readonly version: number; readonly leader: string; readonly nodes: readonly string[] }
  | { readonly ok: false; readonly error: 'gossip_vsn_mismatch'; readonly leader: string; readonly nodes: readonly string[] }
  | { readonly ok: false; readonly error: 'timeout'; readonly unresponsive: readonly string[]; readonly leader: string; readonly nodes: readonly string[] };

export interface StopOptions {
  /** Leave the cluster before stopping (otherwise membership is kept for a restart). @default false */
  readonly leave?: boolean;
}

type Phase = 'starting' | 'running' | 'stopping' | 'stopped';

/** How long a starting node holds the claim on its id (a start takes milliseconds). */
const CLAIM_MS = 5_000;

export class Node<T = unknown> {
  readonly #o: ResolvedOptions;
  readonly #keys: Keys;
  readonly #conn: Connection;
  readonly #clock = new RedisClock();
  readonly #messages: Messages;
  readonly #store: Store;
  readonly #inbox: Inbox<T>;
  readonly #writer: Writer<T>;
  readonly #membership: Membership<T>;
  readonly #housekeeping: Housekeeping<T>;
  readonly #metrics = new Metrics({ onListenerError: (err) => this.#report(new SubscriberError('latency', err)) });
  readonly #cfgView = new CfgView();
  /** The `schema` option's checks, if one was given. */
  readonly #guard: SchemaGuard | undefined;
  #phase: Phase = 'starting';
  #synced = false;
  #stopping: Promise<void> | undefined;

  private constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#keys = new Keys(o.namespace, true);
    const signer = o.secret === undefined ? undefined : new Signer(o.secret);
    this.#conn = Connection.open(o.redis, {
      onMessage: (channel, message) => this.#messages.receive(channel, message),
      onReconnect: () => this.#onReconnect(),
      onError: (err) => o.logger.debug('simple-gossip: redis', err.message),
    });
    this.#messages = new Messages({
      self: o.nodeId,
      namespace: o.namespace,
      maxMessageBytes: o.maxMessageBytes,
      signer,
      conn: this.#conn,
      keys: this.#keys,
      clock: this.#clock,
      metrics: this.#metrics,
      onChange: (frame) => this.#inbox.step({ kind: 'change', frame }),
      onEnvelope: (env) => this.#inbox.step({ kind: 'envelope', env }),
      onDrop: (err) => this.#report(err),
    });
    this.#store = new Store({
      self: o.nodeId,
      namespace: o.namespace,
      conn: this.#conn,
      keys: this.#keys,
      signer,
      nodeKeyTtlMs: o.nodeKeyTtlMs,
      replayWindowMs: REPLAY_WINDOW_MS,
      durability: o.durability,
    });
    const isRunning = () => this.#phase === 'running';
    const guard = o.schema === undefined ? undefined : new SchemaGuard(o.schema, this.#metrics, (err) => this.#report(err));
    this.#guard = guard;
    this.#inbox = new Inbox<T>({
      self: o.nodeId,
      eventMode: o.eventMode,
      logger: o.logger,
      clock: this.#clock,
      metrics: this.#metrics,
      store: this.#store,
      messages: this.#messages,
      signed: signer !== undefined,
      onUnlisted: () => this.#membership.removed(),
      onMissing: () => this.#housekeeping.restore(),
      onIntervalChange: () => this.#housekeeping.schedule(),
      isRunning,
      ...(guard ? { admit: (state) => guard.admit(state) } : {}),
    });
    this.#membership = new Membership<T>({
      o,
      store: this.#store,
      messages: this.#messages,
      clock: this.#clock,
      inbox: this.#inbox,
      restore: () => this.#housekeeping.restore(),
    });
    this.#housekeeping = new Housekeeping<T>({
      o,
      store: this.#store,
      messages: this.#messages,
      conn: this.#conn,
      keys: this.#keys,
      clock: this.#clock,
      metrics: this.#metrics,
      inbox: this.#inbox,
      membership: () => this.#membership,
      isRunning,
      onSynced: () => (this.#synced = true),
      report: (err) => this.#report(err),
    });
    this.#writer = new Writer<T>({
      store: this.#store,
      clock: this.#clock,
      signer,
      maxMessageBytes: o.maxMessageBytes,
      metrics: this.#metrics,
      retryForMs: Math.max(o.rpcTimeoutMs * 3, 5_000),
      state: () => this.#inbox.state,
      committed: (change) => this.#inbox.committed(change, o.rpcTimeoutMs),
      catchUp: (version) => this.#inbox.catchUp(version),
      restore: () => this.#housekeeping.restore(),
      // A write found this node no longer a member: reading its cluster settles where it belongs.
      rehome: () => this.#inbox.read(this.#inbox.state.cluster),
      assertRunning: () => this.#assertRunning(),
      ...(guard ? { check: (data) => guard.write('the data an updater returned', data) } : {}),
    });
  }

  /** Starts a node: connects, refuses an id that is live, and takes its cluster's state from Redis (or starts one). */
  static async start<T = unknown>(options: GossipOptions<unknown> = {}): Promise<Node<T>> {
    const node = new Node<T>(resolveOptions(options));
    try {
      await node.#boot();
      return node;
    } catch (err) {
      node.#phase = 'stopped';
      node.#messages.close();
      await node.#conn.close();
      throw err;
    }
  }

  // ---- the local view -------------------------------------------------

  get id(): string {
    return this.#o.nodeId;
  }
  get namespace(): string {
    return this.#o.namespace;
  }
  get rumor(): State<T> {
    return this.#inbox.state;
  }
  getCfg<V = unknown>(key: string, dflt?: V): V | undefined {
    return this.#cfgView.read(this.#inbox.state.data, key, dflt);
  }
  get ready(): boolean {
    return this.#phase === 'running' && this.#conn.isReady;
  }
  /** False from a start or reconnect until this node has compared its state with Redis's. */
  get synced(): boolean {
    return this.ready && this.#synced;
  }

  // ---- writes ---------------------------------------------------------

  /** Sets the data (a value or an updater); resolves to the version that holds it. */
  set(valueOrUpdater: T | undefined | Updater<T>): Promise<number> {
    this.#assertRunning();
    if (typeof valueOrUpdater === 'function') return this.#writer.update(valueOrUpdater as Updater<T>);
    return this.#checked(
      'the data of set()',
      () => valueOrUpdater,
      () => this.#writer.write({ op: 'set', value: valueOrUpdater }),
    );
  }

  /** Config keys set and removed in one commit; resolves to the version that holds them. */
  patch(set: ReadonlyMap<string, unknown>, del: readonly string[]): Promise<number> {
    this.#assertRunning();
    for (const k of [...set.keys(), ...del]) if (typeof k !== 'string') throw new TypeError(`a config key must be a string, not ${typeof k}`);
    const data = this.#inbox.state.data;
    if (data instanceof Map) {
      // A Map is one value: its keys change by compare-and-set of the whole.
      const updaters = [...[...set].map(([k, v]) => setCfgUpdater<T>(k, v)), ...del.map((k) => deleteCfgUpdater<T>(k))];
      return this.#writer.update((cur) => {
        let next: T | undefined = cur;
        let changed = false;
        for (const u of updaters) {
          const r = u(next);
          if (r !== 'no_change') {
            next = r.change;
            changed = true;
          }
        }
        return changed ? { change: next as T } : 'no_change';
      });
    }
    if (data !== undefined && !isRecord(data)) {
      const kind = data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data;
      throw new TypeError(`setCfg/deleteCfg/patchCfg need the data to be an object of keys (or undefined), but it is ${kind}`);
    }
    return this.#checked(
      'the data a config write leaves',
      () => patched(data, set, del),
      () => this.#writer.write({ op: 'patch', set, del }),
    );
  }

  /** Runs `write` once the data it leaves passes the schema (at once when the schema answers synchronously, keeping call order). */
  #checked(what: string, next: () => unknown, write: () => Promise<number>): Promise<number> {
    if (!this.#guard) return write();
    const checking = this.#guard.write(what, next());
    return checking ? checking.then(write) : write();
  }

  /** Waits until enough members hold `version` (each answers as soon as it does). */
  async awaitVersion(version: number, options: SetSyncOptions = {}): Promise<void> {
    await awaitVersion(
      {
        nodes: () => this.#inbox.state.nodes,
        version: (node, atLeast, holdMs) =>
          node === this.id ? this.#inbox.whenVersion(atLeast, holdMs) : this.#messages.holds(node, this.#inbox.state.cluster, atLeast, holdMs, this.#o.statusTimeoutMs),
      },
      version,
      options,
    );
  }

  /** A `…Sync` call: `write` (started here, its change asking the members for acks), then the wait for them; the whole is timed as a convergence. */
  async converge(write: () => Promise<number>, options: SetSyncOptions = {}): Promise<void> {
    const started = this.#metrics.now();
    await this.awaitVersion(await this.#writer.acked(write), options);
    this.#metrics.latency('convergence', started);
  }

  // ---- membership and settings ----------------------------------------

  join(nodeId: string): Promise<void> {
    this.#assertRunning();
    return this.#membership.join(nodeId);
  }

  leave(nodeId: string): Promise<void> {
    this.#assertRunning();
    return this.#membership.leave(nodeId);
  }

  async setGossipInterval(ms: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`gossip interval must be a positive integer, not ${ms}`);
    await this.#membership.commit(() => ({ gossipIntervalMs: ms, why: 'settings' }));
  }

  async setFanout(k: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`fanout must be a positive integer, not ${k}`);
    await this.#membership.commit(() => ({ fanout: k, why: 'settings' }));
  }

  async status(): Promise<StatusResult> {
    this.#assertRunning();
    const { version, leader, nodes } = this.#inbox.state;
    const answers = await Promise.all(nodes.map((n) => (n === this.id ? Promise.resolve(version) : this.#messages.version(n, this.#o.statusTimeoutMs))));
    const unresponsive = nodes.filter((_, i) => answers[i] === undefined);
    if (unresponsive.length > 0) return { ok: false, error: 'timeout', unresponsive, leader, nodes };
    if (answers.some((v) => v !== version)) return { ok: false, error: 'gossip_vsn_mismatch', leader, nodes };
    return { ok: true, version, leader, nodes };
  }

  // ---- events ---------------------------------------------------------

  on<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, State<T>>[K]>): void {
    this.#inbox.events.on(type, handler);
  }

  off<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, State<T>>[K]>): void {
    this.#inbox.events.off(type, handler);
  }

  offAll(handler: Handler<never>): void {
    this.#inbox.events.offAll(handler);
  }

  onKey(key: string, fn: KeyListener): () => void {
    return this.#inbox.onKey(key, fn);
  }

  /** Resolves once this node has compared its state with Redis's (at once if it has). */
  async whenSynced(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.#o.connectTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      options.signal?.throwIfAborted();
      this.#assertRunning();
      if (Date.now() >= deadline) throw new GossipError('timeout', `not synced within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10).unref());
    }
  }

  onLatency(fn: LatencyListener): () => void {
    return this.#metrics.onLatency(fn);
  }

  metrics(): MetricsSnapshot {
    const { version, nodes } = this.#inbox.state;
    return this.#metrics.snapshot({ version, members: nodes.length, snapshotWrites: this.#metrics.counter('nodeKeyWrites'), versionLag: this.#inbox.versionLag });
  }

  // ---- lifecycle ------------------------------------------------------

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options);
    return this.#stopping;
  }

  async #boot(): Promise<void> {
    const o = this.#o;
    await this.#conn.ready(o.connectTimeoutMs, o.signal);
    const channel = this.#messages.channel;
    const sentAt = Date.now();
    // The node key is read meanwhile: a read changes nothing, even if this id turns out to be taken.
    const [time, claimed, listeners, nodeKey] = await Promise.all([this.#store.time(), this.#store.claim(CLAIM_MS), this.#conn.listeners(channel), this.#store.nodeKey(this.id)]);
    this.#clock.observe(time, sentAt);
    // Taken: another process is starting with this id, or a node listens under it and refreshed its key lately
    // (a client that only subscribes under the name does not keep the id).
    const fresh = nodeKey !== undefined && nodeKey.seen > nodeKey.stopped && time - nodeKey.seen <= SILENT_PERIODS * nodeKey.gossipIntervalMs + GOSSIP_JITTER_MS;
    if (claimed === undefined || (listeners > 0 && fresh)) throw new NodeIdInUseError(this.id, this.namespace);
    try {
      await this.#conn.subscribe(channel);
      await this.#recover(nodeKey);
    } finally {
      // Not awaited: the claim only has to be gone before another start with this id, long after; it expires anyway.
      this.#store.release(claimed).catch(() => undefined);
    }
    // A sign of life at once (its next tick is a gossip period away): a restarted leader is not taken for gone.
    await this.#store.writeNodeKey(this.#inbox.state, undefined, this.#clock.now()).catch((err: unknown) => this.#report(err));
    this.#synced = true;
    this.#phase = 'running';
    const s = this.#inbox.state;
    o.logger.debug(`simple-gossip: ${this.id} started at version ${s.version} with ${s.nodes.length} member(s), led by ${s.leader}`);
    await this.#membership.discover().catch((err: unknown) => o.logger.debug('simple-gossip: discovery failed', err));
    this.#housekeeping.schedule();
  }

  /** Cold start: the cluster its node key names, read whole; or a live member's word; or a cluster of its own. */
  async #recover(nodeKey: NodeKey | undefined): Promise<void> {
    const stored = nodeKey?.cluster === undefined ? undefined : await this.#store.read<T>(nodeKey.cluster).catch((err: unknown) => this.#report(err));
    if (stored) await this.#guard?.boot(stored.state);
    if (stored?.state.nodes.includes(this.id)) {
      this.#inbox.adopt(stored);
    } else if (stored) {
      // Removed while it was down: it goes on alone with the data it would have had.
      await this.#membership.startCluster(stored.state.data, stored.book, Math.max(stored.state.version, nodeKey?.version ?? 0));
    } else if (!(nodeKey?.cluster !== undefined && (await this.#fromLiveMember(nodeKey.cluster, nodeKey.nodes)))) {
      await this.#membership.startCluster(undefined, EMPTY_BOOK, nodeKey?.version ?? 0);
    }
  }

  /** Cold start where the cluster's hash is gone: a live member tells where it went, or writes it back. */
  async #fromLiveMember(cluster: string, nodes: readonly string[]): Promise<boolean> {
    // Each step may fail (the member is gone, Redis is busy): the next member is asked, and with none the node starts a cluster of its own.
    for (const peer of nodes.filter((n) => n !== this.id)) {
      const head = await this.#messages.request(peer, 'headreq', {}, Math.min(this.#o.rpcTimeoutMs, 1_000)).catch(() => undefined);
      if (!isHead(head)) continue;
      let theirs = await this.#store.read<T>(head.cluster).catch(() => undefined);
      if (!theirs && head.cluster === cluster) {
        // Redis lost it while that member holds it: it writes it back.
        await this.#messages.request(peer, 'restore', {}, this.#o.rpcTimeoutMs).catch(() => undefined);
        theirs = await this.#store.read<T>(cluster).catch(() => undefined);
      }
      if (theirs?.state.nodes.includes(this.id)) {
        await this.#guard?.boot(theirs.state);
        this.#inbox.adopt(theirs);
        return true;
      }
    }
    return false;
  }

  async #shutdown(options: StopOptions): Promise<void> {
    if (this.#phase === 'stopped') return;
    const log = this.#o.logger;
    if (options.leave && this.#phase === 'running') {
      await this.leave(this.id).catch((err: unknown) => log.warn('simple-gossip: leave on stop failed', err));
    } else if (this.#phase === 'running' && this.#inbox.state.leader === this.id && this.#inbox.state.nodes.length > 1) {
      // Housekeeping goes on without this node, on a member that is live (computed again, if another change got in first).
      // Not knowing who is down (Redis unreachable) only makes the choice less informed: every member counts as live.
      const down = await this.#housekeeping.down(this.#inbox.state.nodes).catch(() => new Set<string>());
      await this.#membership
        .commit((s) => (s.leader === this.id ? { leader: chooseLeader(s.nodes, this.id, down, s.nodes.find((n) => n !== this.id) ?? this.id), why: 'hand-over' } : undefined))
        .catch((err: unknown) => log.warn('simple-gossip: hand-over failed', err));
    }
    this.#phase = 'stopping';
    this.#housekeeping.stop();
    // Nothing changes the state from here on, so the node key says what the node last held.
    this.#inbox.close();
    await this.#store.writeNodeKey(this.#inbox.state, this.#clock.now()).catch((err: unknown) => log.warn('simple-gossip: writing the node key on stop failed', err));
    this.#messages.close();
    this.#writer.rejectAll(new StoppedError());
    await this.#conn.close();
    this.#phase = 'stopped';
  }

  /** After Redis comes back: changes were missed, the state may be gone. */
  #onReconnect(): void {
    if (this.#phase !== 'running') return;
    this.#synced = false;
    this.#report(new GossipError('reconnected', `${this.id}'s Redis connection dropped (a network fault, or Redis closed it for its output buffer); it catches up from Redis`));
    // tick() handles what a round fails with; anything that still escapes it is reported.
    this.#housekeeping.tick().catch((err: unknown) => this.#report(err));
  }

  #report(err: unknown): void {
    this.#inbox.events.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #assertRunning(): void {
    if (this.#phase !== 'running') throw new StoppedError();
  }
}
