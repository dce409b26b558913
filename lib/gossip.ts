import { CfgView } from './cfg.js';
import { Codec, isRumor } from './codec.js';
import type { AnyEnvelope, Envelope, WriteOp } from './codec.js';
import { COLD_START_PULL_TIMEOUT_MS, GOSSIP_JITTER_MS, MAX_VERSION_HOLD_MS } from './constants.js';
import { NodeIdInUseError, StoppedError } from './errors.js';
import { EventBus } from './events.js';
import type { GossipEvents, GossipEventType, Handler } from './events.js';
import { Mailbox } from './mailbox.js';
import { Metrics } from './metrics.js';
import type { MetricsSnapshot } from './metrics.js';
import * as R from './model/rumor.js';
import type { Rumor } from './model/rumor.js';
import { Healer } from './node/healer.js';
import { GossipNode } from './node/node.js';
import { LeaderRole } from './node/leader.js';
import { Lease } from './node/lease.js';
import { WriteRouter } from './node/router.js';
import { NodeState } from './node/state.js';
import { resolveOptions } from './options.js';
import type { GossipOptions, ResolvedOptions } from './options.js';
import { awaitVersion } from './propagation.js';
import type { Poller, SetSyncOptions } from './propagation.js';
import { Signer } from './signing.js';
import { SnapshotStore } from './snapshot.js';
import { Connection } from './transport/connection.js';
import { Keys } from './transport/keys.js';
import { Wire } from './transport/wire.js';
import type { Updater } from './updates.js';

/** What {@link Gossip.status} answers: the original's three results, all in one shape. */
export type StatusResult =
  | {
      /** Every member answered with this node's version. */
      readonly ok: true;
      readonly version: number;
      readonly leader: string;
      readonly nodes: readonly string[];
    }
  | {
      readonly ok: false;
      /** Every member answered, not all with the same version (transient). */
      readonly error: 'gossip_vsn_mismatch';
      readonly leader: string;
      readonly nodes: readonly string[];
    }
  | {
      readonly ok: false;
      /** Some members did not answer within `statusTimeoutMs`: these. */
      readonly error: 'timeout';
      readonly unresponsive: readonly string[];
      readonly leader: string;
      readonly nodes: readonly string[];
    };

/** Options of {@link Gossip.stop}. */
export interface StopOptions {
  /** Leave the cluster before stopping (otherwise membership is kept for a restart). @default false */
  readonly leave?: boolean;
}

type Phase = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One member of a simple-gossip cluster. Create it with {@link Gossip.start}.
 */
export class Gossip<T = unknown> {
  readonly #o: ResolvedOptions;
  readonly #keys: Keys;
  readonly #conn: Connection;
  readonly #wire: Wire;
  readonly #snapshot: SnapshotStore<T>;
  readonly #events: EventBus<T>;
  readonly #mailbox = new Mailbox();
  readonly #metrics = new Metrics();
  readonly #cfgView = new CfgView();
  readonly #state: NodeState<T>;
  readonly #leader: LeaderRole<T>;
  readonly #lease: Lease | undefined;
  readonly #healer: Healer<T>;
  readonly #router: WriteRouter<T>;
  #phase: Phase = 'starting';
  #timer: NodeJS.Timeout | undefined;
  #healTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#keys = new Keys(o.namespace);
    this.#events = new EventBus<T>(o.eventMode, o.logger);
    this.#conn = Connection.open(o.redis, {
      onMessage: (channel, message) => this.#wire.receive(channel, message),
      onReconnect: () => this.#onReconnect(),
      onError: (err) => o.logger.debug('simple-gossip: redis', err.message),
    });
    this.#wire = new Wire({
      self: o.nodeId,
      namespace: o.namespace,
      codec: new Codec({
        namespace: o.namespace,
        maxMessageBytes: o.maxMessageBytes,
        signer: o.secret === undefined ? undefined : new Signer(o.secret),
      }),
      conn: this.#conn,
      keys: this.#keys,
      metrics: this.#metrics,
      onEnvelope: (env) => this.#onEnvelope(env),
      onDrop: (err) => this.#report(err),
    });
    this.#snapshot = new SnapshotStore<T>(this.#conn.cmd, this.#keys.snapshot(o.nodeId), (err) => this.#report(err));
    this.#state = new NodeState<T>({
      self: o.nodeId,
      fansOut: this.#conn.fansOut,
      wire: this.#wire,
      snapshot: this.#snapshot,
      events: this.#events,
      metrics: this.#metrics,
      logger: o.logger,
      onIntervalChange: () => this.#schedule(),
      onLeadershipLost: () => this.#leader.resign(),
    });
    this.#lease = o.fencing ? new Lease(this.#conn.cmd, this.#keys, o.nodeId, o.leaseMs, this.#conn.multiKeyScripts) : undefined;
    this.#leader = new LeaderRole<T>({
      self: o.nodeId,
      state: this.#state,
      wire: this.#wire,
      mailbox: this.#mailbox,
      snapshot: this.#snapshot,
      lease: this.#lease,
      redis: this.#conn.cmd,
      keys: this.#keys,
      metrics: this.#metrics,
      o,
    });
    this.#router = new WriteRouter<T>(o.nodeId, this.#state, this.#leader, this.#wire, this.#mailbox, o, () => this.#assertRunning());
    this.#healer = new Healer<T>({
      self: o.nodeId,
      state: this.#state,
      conn: this.#conn,
      keys: this.#keys,
      router: this.#router,
      leader: this.#leader,
      o,
    });
  }

  /**
   * Starts a node: connects, refuses a nodeId that is already live, recovers
   * its rumor from its Redis snapshot (checked against a live member), or
   * starts a one-node cluster of its own.
   */
  static async start<T = unknown>(options: GossipOptions = {}): Promise<Gossip<T>> {
    // The v2 core, while it replaces this one (SIMPLE_GOSSIP_CORE=v2).
    if (process.env.SIMPLE_GOSSIP_CORE === 'v2') return (await GossipNode.start<T>(options)) as unknown as Gossip<T>;
    const node = new Gossip<T>(resolveOptions(options));
    try {
      await node.#boot();
      return node;
    } catch (err) {
      node.#phase = 'stopped';
      node.#wire.close();
      await node.#conn.close();
      throw err;
    }
  }

  // ---- the local view -------------------------------------------------

  /** This node's id. */
  get id(): string {
    return this.#o.nodeId;
  }
  /** The namespace this node's cluster lives in. */
  get namespace(): string {
    return this.#o.namespace;
  }
  /** The id of the node that serialises writes, as this node knows it. */
  get leader(): string {
    return this.#state.rumor.leader;
  }
  /** The members, in the order every member shares. */
  get nodes(): readonly string[] {
    return this.#state.rumor.nodes;
  }
  /** The cluster version this node holds. */
  get version(): number {
    return this.#state.rumor.version;
  }
  /** The whole current rumor (frozen). */
  get rumor(): Rumor<T> {
    return this.#state.rumor;
  }

  /** The current data, deep-frozen. Synchronous; as cheap as a property read. */
  get(): T | undefined {
    return this.#state.data;
  }

  /** Config mode: the value under `key` of the data object, or `dflt`. */
  getCfg<V = unknown>(key: string, dflt?: V): V | undefined {
    return this.#cfgView.read(this.#state.data, key, dflt);
  }

  /** True while the node runs and its Redis connection is up: a cheap liveness probe. */
  get ready(): boolean {
    return this.#phase === 'running' && this.#conn.isReady;
  }

  /**
   * False from a start or reconnect until this node has compared its rumor
   * with a live member's (always true for a one-node cluster): a readiness probe.
   */
  get synced(): boolean {
    return this.ready && (this.#state.synced || this.nodes.length === 1);
  }

  // ---- writes ---------------------------------------------------------

  /**
   * Sets the data (a value, or an updater run against the latest data) through
   * the leader; resolves once the leader has applied it, with this node
   * already holding the result.
   */
  async set(valueOrUpdater: T | undefined | Updater<T>): Promise<void> {
    await this.#set(valueOrUpdater);
  }

  /** {@link set}, then waits until every member holds the written version. */
  async setSync(valueOrUpdater: T | undefined | Updater<T>, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#awaitVersion(await this.#set(valueOrUpdater), options);
  }

  /**
   * Config mode: sets `key` in the data object (copied; `{}` when the data is
   * undefined). The leader applies it to its latest data, so concurrent
   * config writes from many nodes never conflict.
   */
  async setCfg(key: string, value: unknown): Promise<void> {
    await this.#cfg({ kind: 'cfg', key, value });
  }

  /** {@link setCfg}, then waits like {@link setSync}. */
  async setCfgSync(key: string, value: unknown, options: SetSyncOptions = {}): Promise<void> {
    await this.#awaitVersion(await this.#cfg({ kind: 'cfg', key, value }, options), options);
  }

  /** Config mode: removes `key`; `getCfg(key, dflt)` returns `dflt` afterwards, everywhere. */
  async deleteCfg(key: string): Promise<void> {
    await this.#cfg({ kind: 'cfg', key, remove: true });
  }

  /** {@link deleteCfg}, then waits like {@link setSync}. */
  async deleteCfgSync(key: string, options: SetSyncOptions = {}): Promise<void> {
    await this.#awaitVersion(await this.#cfg({ kind: 'cfg', key, remove: true }, options), options);
  }

  // ---- membership and settings ----------------------------------------

  /** Adds `nodeId` to this cluster (the side with the higher version keeps its data). */
  async join(nodeId: string): Promise<void> {
    this.#assertRunning();
    if (nodeId === this.id) return;
    this.#healer.paused = false;
    await this.#router.route({ kind: 'join', id: nodeId });
  }

  /** Removes `nodeId` (this node or another) from the cluster. */
  async leave(nodeId: string): Promise<void> {
    this.#assertRunning();
    // A node that leaves on purpose stays out: discovery would take it back in.
    if (nodeId === this.id) this.#healer.paused = true;
    await this.#router.route({ kind: 'leave', id: nodeId });
  }

  /** Sets the anti-entropy period, cluster-wide. */
  async setGossipInterval(ms: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`gossip interval must be a positive integer, not ${ms}`);
    await this.#router.route({ kind: 'settings', gossipIntervalMs: ms });
  }

  /** Sets how many neighbours a change is passed on to in the epidemic tree (see the `fanout` option), cluster-wide. */
  async setFanout(k: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`fanout must be a positive integer, not ${k}`);
    await this.#router.route({ kind: 'settings', fanout: k });
  }

  /** Asks every member for its version. */
  async status(): Promise<StatusResult> {
    this.#assertRunning();
    const { version, leader, nodes } = this.#state.rumor;
    const answers = await this.#wire.versions(nodes, this.#o.statusTimeoutMs, version);
    const unresponsive = nodes.filter((_, i) => answers[i] === undefined);
    if (unresponsive.length > 0) return { ok: false, error: 'timeout', unresponsive, leader, nodes };
    if (answers.some((v) => v !== version)) return { ok: false, error: 'gossip_vsn_mismatch', leader, nodes };
    return { ok: true, version, leader, nodes };
  }

  // ---- events ---------------------------------------------------------

  /** Calls `handler` on every change of the data (or of the whole rumor); returns its unsubscribe. */
  subscribe(handler: Handler<GossipEvents<T>['data']>, type?: 'data'): () => void;
  subscribe(handler: Handler<GossipEvents<T>['rumor']>, type: 'rumor'): () => void;
  subscribe(handler: Handler<never>, type: 'data' | 'rumor' = 'data'): () => void {
    const h = handler as Handler<GossipEvents<T>[typeof type]>;
    this.#events.on(type, h);
    return () => this.#events.off(type, h);
  }

  /** Stops `handler` from receiving any event it was subscribed to. */
  unsubscribe(handler: Handler<never>): void {
    this.#events.offAll(handler);
  }

  /** Listens to 'data', 'rumor' or 'error' (a handler that throws is reported on 'error', never breaks the node). */
  on<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T>[K]>): this {
    this.#events.on(type, handler);
    return this;
  }

  /** Stops listening (only this handler, for this event). */
  off<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T>[K]>): this {
    this.#events.off(type, handler);
    return this;
  }

  /** Counters since start. */
  metrics(): MetricsSnapshot {
    const { version, nodes } = this.#state.rumor;
    const versionLag = Math.max(0, this.#state.seenVersion - version);
    return this.#metrics.snapshot({ version, members: nodes.length, snapshotWrites: this.#snapshot.writes, versionLag });
  }

  // ---- lifecycle ------------------------------------------------------

  /**
   * Stops the node: a leader hands leadership over first, the snapshot is
   * flushed, pending requests are rejected, and the connections it opened
   * are closed. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options);
    return this.#stopping;
  }

  /** `await using node = await Gossip.start(...)` stops it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #boot(): Promise<void> {
    await this.#conn.ready();
    const channel = this.#wire.channel;
    // The snapshot is read meanwhile (a read changes nothing, even if this id turns out to be taken).
    const stored = this.#snapshot.read();
    stored.catch(() => undefined);
    if ((await this.#conn.listeners(channel)) > 0) throw new NodeIdInUseError(this.id, this.namespace);
    await this.#conn.subscribe(channel);
    if ((await this.#conn.listeners(channel)) > 1) throw new NodeIdInUseError(this.id, this.namespace);
    // Messages that arrive meanwhile wait in the mailbox behind the recovery.
    await this.#mailbox.run(async () => this.#recover(await stored));
    this.#phase = 'running';
    const r = this.#state.rumor;
    this.#o.logger.debug(`simple-gossip: ${this.id} started at version ${r.version} with ${r.nodes.length} member(s), led by ${r.leader}`);
    this.#schedule();
    if (this.#o.join === 'auto' || this.#o.evictAfterMs > 0) this.#scheduleHealing(await this.#heal());
  }

  /** Cold start: the stored rumor, checked against one live member; or a new cluster. */
  async #recover(stored: Rumor<T> | undefined): Promise<void> {
    const state = this.#state;
    if (!stored) {
      state.install(R.initialRumor<T>(this.id, undefined, this.#o, Date.now()));
      this.#snapshot.save(state.rumor);
      return;
    }
    state.install(stored);
    const timeout = Math.min(COLD_START_PULL_TIMEOUT_MS, this.#o.rpcTimeoutMs * 2);
    for (const peer of shuffle(stored.nodes.filter((n) => n !== this.id))) {
      const theirs = await this.#wire.request(peer, 'pull', {}, timeout).catch(() => undefined);
      if (!isRumor(theirs) || R.compare(state.rumor, theirs) === 'older') continue;
      // A former member that now runs alone (or elsewhere) knows nothing of this cluster: ask the next.
      if (theirs.cluster !== stored.cluster && !theirs.nodes.includes(this.id)) continue;
      // Newer, the same, or concurrent: one good answer is enough.
      state.consider(theirs as Rumor<T>, peer);
      state.synced = true;
      break;
    }
    this.#snapshot.save(state.rumor);
  }

  async #shutdown(options: StopOptions): Promise<void> {
    if (this.#phase === 'stopped') return;
    if (options.leave && this.#phase === 'running') {
      await this.leave(this.id).catch((err: unknown) => this.#o.logger.warn('simple-gossip: leave on stop failed', err));
    }
    this.#phase = 'stopping';
    clearTimeout(this.#timer);
    clearTimeout(this.#healTimer);
    await this.#mailbox.run(() => this.#leader.handOver()).catch((err: unknown) => this.#o.logger.warn('simple-gossip: hand-over failed', err));
    await this.#state.pushes.pushed();
    await this.#conn.drain().catch(() => undefined); // every PUBLISH queued before it has left
    await this.#snapshot.flush().catch(() => undefined);
    this.#lease?.close();
    this.#wire.close();
    this.#router.close(new StoppedError());
    await this.#conn.close();
    this.#phase = 'stopped';
  }

  // ---- inbound --------------------------------------------------------

  #onEnvelope(env: Exclude<AnyEnvelope, Envelope<'reply'>>): void {
    if (this.#phase === 'stopped') return;
    const state = this.#state;
    if (!env.observer) state.down.delete(env.from);
    switch (env.type) {
      case 'pull':
        this.#wire.answer(env, () => state.rumor);
        return;
      case 'vsn':
        this.#wire.answer(env, () => state.whenVersion(env.body.atLeast ?? 0, Math.min(env.body.waitMs ?? 0, MAX_VERSION_HOLD_MS)));
        return;
      case 'push':
        this.#enqueue(() => state.consider(env.body.rumor as Rumor<T>, env.from, env.body.root, env.body.star === true));
        return;
      case 'head':
        this.#enqueue(() => this.#onHead(env.body, env.from));
        return;
      case 'write':
        this.#wire.answer(env, () => this.#leader.serve(env));
        return;
      case 'join':
        this.#wire.answer(env, () => this.#mailbox.run(() => state.acceptJoin(env.body.rumor as Rumor<T>, env.from)));
        return;
    }
  }

  /** Anti-entropy: pull what is newer (or concurrent), push back what is older. */
  #onHead(head: R.Head, from: string): void {
    const state = this.#state;
    if (state.formerMember(from)) {
      // It still gossips with this node as if it were a member: give it its cluster's news.
      void this.#wire.push(state.former!, [from]);
      return;
    }
    const member = state.rumor.nodes.includes(from);
    if (member && head.version > state.seenVersion) state.seenVersion = head.version;
    switch (R.compare(state.rumor, head)) {
      case 'newer':
      case 'concurrent':
        this.#wire.request(from, 'pull', {}, this.#o.rpcTimeoutMs).then(
          (theirs) => {
            if (isRumor(theirs)) this.#enqueue(() => state.consider(theirs as Rumor<T>, from));
          },
          () => undefined,
        );
        return;
      case 'older':
        if (member) void this.#wire.push(state.rumor, [from]);
        state.synced ||= member;
        return;
      case 'same':
        state.synced ||= member;
        return;
    }
  }

  // ---- background -----------------------------------------------------

  /** The anti-entropy tick: a self-rescheduling, unref'd timer. */
  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#phase !== 'running') return;
    const delay = this.#state.rumor.gossipIntervalMs + Math.random() * GOSSIP_JITTER_MS;
    this.#timer = setTimeout(() => {
      this.#gossip();
      this.#schedule();
    }, delay);
    this.#timer.unref();
  }

  /**
   * Discovery and eviction, twice a gossip period (at most once a second),
   * and right when a silent member falls due for eviction.
   */
  #scheduleHealing(dueInMs?: number): void {
    clearTimeout(this.#healTimer);
    if (this.#phase !== 'running') return;
    const period = Math.min(this.#state.rumor.gossipIntervalMs / 2, 1_000) + Math.random() * GOSSIP_JITTER_MS;
    this.#healTimer = setTimeout(() => {
      void this.#heal().then((due) => this.#scheduleHealing(due));
    }, Math.min(period, dueInMs ?? Infinity));
    this.#healTimer.unref();
  }

  async #heal(): Promise<number | undefined> {
    try {
      await this.#healer.discover();
      return await this.#healer.evict();
    } catch (err) {
      if (this.#phase === 'running') this.#o.logger.debug('simple-gossip: healing round failed', err);
      return undefined;
    }
  }

  /** Sends this node's head to one random member. */
  #gossip(): void {
    const others = this.nodes.filter((n) => n !== this.id);
    const peer = others[Math.floor(Math.random() * others.length)];
    if (peer === undefined) return;
    this.#metrics.count('antiEntropyRounds');
    this.#wire.send(peer, 'head', R.headOf(this.#state.rumor)).catch(() => undefined);
  }

  /** After Redis comes back: the snapshot may be gone and pushes were missed. */
  #onReconnect(): void {
    if (this.#phase !== 'running') return;
    this.#o.logger.info(`simple-gossip: ${this.id} reconnected; rewriting its snapshot and gossiping at once`);
    this.#state.synced = false;
    this.#snapshot.save(this.#state.rumor);
    this.#gossip();
  }

  // ---- helpers --------------------------------------------------------

  #set(valueOrUpdater: T | undefined | Updater<T>): Promise<number> {
    this.#assertRunning();
    return this.#router.set(valueOrUpdater);
  }

  #cfg(op: Extract<WriteOp, { kind: 'cfg' }>, options: SetSyncOptions = {}): Promise<number> {
    this.#assertRunning();
    options.signal?.throwIfAborted();
    if (typeof op.key !== 'string') throw new TypeError(`a config key must be a string, not ${typeof op.key}`);
    return this.#router.write(op);
  }

  /** Waits until enough members hold `version` (see {@link awaitVersion}). */
  async #awaitVersion(version: number, options: SetSyncOptions): Promise<void> {
    const poller: Poller = {
      nodes: () => this.nodes,
      version: (node, atLeast, holdMs) =>
        node === this.id
          ? this.#state.whenVersion(atLeast, holdMs)
          : this.#wire.version(node, holdMs + this.#o.statusTimeoutMs, { atLeast, waitMs: holdMs }),
    };
    await awaitVersion(poller, version, options);
  }

  #enqueue(task: () => void): void {
    this.#mailbox.run(task).catch((err: unknown) => this.#report(err));
  }

  #report(err: unknown): void {
    this.#events.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #assertRunning(): void {
    if (this.#phase !== 'running') throw new StoppedError();
  }
}

function shuffle<X>(xs: X[]): X[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
