import { isDeepStrictEqual } from 'node:util';
import { deleteCfgUpdater, readCfg, setCfgUpdater } from './cfg.js';
import { assertSerializable, Codec, isRumor, roundTrip, serialize } from './codec.js';
import type { AnyEnvelope, Envelope, WriteOp } from './codec.js';
import { COLD_START_PULL_TIMEOUT_MS, GOSSIP_JITTER_MS, MAX_ROUTE_ATTEMPTS, MAX_UPDATE_RETRIES } from './constants.js';
import {
  ConflictError,
  CouldNotConnectError,
  GossipError,
  MessageTooLargeError,
  NoLeaderError,
  NodeIdInUseError,
  NoListenerError,
  RequestTimeoutError,
  StoppedError,
} from './errors.js';
import { EventBus } from './events.js';
import type { GossipEvents, GossipEventType, Handler } from './events.js';
import { deepFreeze } from './freeze.js';
import { Mailbox } from './mailbox.js';
import { Metrics } from './metrics.js';
import type { MetricsSnapshot } from './metrics.js';
import { chooseLeader } from './model/leader.js';
import * as R from './model/rumor.js';
import type { Rumor } from './model/rumor.js';
import { TreeCache } from './model/tree.js';
import * as vc from './model/vclock.js';
import { resolveOptions } from './options.js';
import type { GossipOptions, ResolvedOptions } from './options.js';
import { awaitVersion } from './propagation.js';
import type { SetSyncOptions } from './propagation.js';
import { Signer } from './signing.js';
import { SnapshotStore } from './snapshot.js';
import { Connection } from './transport/connection.js';
import { Keys } from './transport/keys.js';
import { Wire } from './transport/wire.js';
import { applyUpdaters, UpdateQueue } from './updates.js';
import type { PendingUpdate, Updater } from './updates.js';

export type StatusResult =
  | { readonly ok: true; readonly version: number; readonly leader: string; readonly nodes: readonly string[] }
  | { readonly ok: false; readonly error: 'gossip_vsn_mismatch'; readonly leader: string; readonly nodes: readonly string[] }
  | {
      readonly ok: false;
      readonly error: 'timeout';
      readonly unresponsive: readonly string[];
      readonly leader: string;
      readonly nodes: readonly string[];
    };

export interface StopOptions {
  /** Leave the cluster before stopping (otherwise membership is kept for a restart). @default false */
  readonly leave?: boolean;
}

/** The answer a leader gives to a write. */
type WriteReply =
  | { readonly status: 'ok'; readonly rumor: Rumor }
  | { readonly status: 'conflict'; readonly rumor: Rumor }
  | { readonly status: 'redirect'; readonly leader: string; readonly rumor: Rumor };

type State = 'starting' | 'running' | 'stopping' | 'stopped';

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
  readonly #tree = new TreeCache();
  readonly #metrics = new Metrics();
  readonly #updates = new UpdateQueue<T>((batch) => this.#runBatch(batch));
  /** Members known to be gone (nobody listened, or no answer); cleared when they speak again. */
  readonly #down = new Set<string>();
  /** False from a (re)connect until this node has compared its rumor with a live member's. */
  #synced = false;
  #rumor!: Rumor<T>;
  #frozen: T | undefined;
  #state: State = 'starting';
  #timer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#keys = new Keys(o.namespace);
    this.#events = new EventBus<T>(o.eventMode, o.logger);
    this.#conn = new Connection(
      o.redis,
      (channel, message) => this.#wire.receive(channel, message),
      () => this.#onReconnect(),
      (err) => o.logger.debug('simple-gossip: redis', err.message),
    );
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
  }

  /**
   * Starts a node: connects, refuses a nodeId that is already live, recovers
   * its rumor from its Redis snapshot (checked against a live member), or
   * starts a one-node cluster of its own.
   */
  static async start<T = unknown>(options: GossipOptions = {}): Promise<Gossip<T>> {
    const node = new Gossip<T>(resolveOptions(options));
    try {
      await node.#boot();
      return node;
    } catch (err) {
      node.#state = 'stopped';
      node.#wire.close();
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
  get leader(): string {
    return this.#rumor.leader;
  }
  get nodes(): readonly string[] {
    return this.#rumor.nodes;
  }
  get version(): number {
    return this.#rumor.version;
  }
  /** The whole current rumor (frozen). */
  get rumor(): Rumor<T> {
    return this.#rumor;
  }

  /** The current data, deep-frozen. Synchronous; as cheap as a property read. */
  get(): T | undefined {
    return this.#frozen;
  }

  /** Config mode: the value under `key` of the data object, or `dflt`. */
  getCfg<V = unknown>(key: string, dflt?: V): V | undefined {
    return readCfg(this.#frozen, key, dflt);
  }

  /** True while the node runs and its Redis connection is up: a cheap liveness probe. */
  get ready(): boolean {
    return this.#state === 'running' && this.#conn.cmd.status === 'ready' && this.#conn.sub.status === 'ready';
  }

  /**
   * False from a start or reconnect until this node has compared its rumor
   * with a live member's (always true for a one-node cluster): a readiness probe.
   */
  get synced(): boolean {
    return this.ready && (this.#synced || this.#rumor.nodes.length === 1);
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
    const version = await this.#set(valueOrUpdater);
    const poller = { nodes: () => this.#rumor.nodes, versions: (nodes: readonly string[], ms: number) => this.#wire.versions(nodes, ms, this.version) };
    await awaitVersion(poller, version, options, this.#o.statusTimeoutMs);
  }

  /** Config mode: sets `key` in the data object (copied; `{}` when the data is undefined). */
  async setCfg(key: string, value: unknown): Promise<void> {
    await this.set(setCfgUpdater<T>(key, value));
  }

  async setCfgSync(key: string, value: unknown, options?: SetSyncOptions): Promise<void> {
    await this.setSync(setCfgUpdater<T>(key, value), options);
  }

  /** Config mode: removes `key`; `getCfg(key, dflt)` returns `dflt` afterwards, everywhere. */
  async deleteCfg(key: string): Promise<void> {
    await this.set(deleteCfgUpdater<T>(key));
  }

  async deleteCfgSync(key: string, options?: SetSyncOptions): Promise<void> {
    await this.setSync(deleteCfgUpdater<T>(key), options);
  }

  // ---- membership and settings ----------------------------------------

  /** Adds `nodeId` to this cluster (the side with the higher version keeps its data). */
  async join(nodeId: string): Promise<void> {
    this.#assertRunning();
    if (nodeId === this.id) return;
    await this.#route({ kind: 'join', id: nodeId });
  }

  /** Removes `nodeId` (this node or another) from the cluster. */
  async leave(nodeId: string): Promise<void> {
    this.#assertRunning();
    await this.#route({ kind: 'leave', id: nodeId });
  }

  /** Sets the anti-entropy period, cluster-wide. */
  async setGossipInterval(ms: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`gossip interval must be a positive integer, not ${ms}`);
    await this.#route({ kind: 'settings', gossipIntervalMs: ms });
  }

  /** Sets how many neighbours a change is pushed to, cluster-wide. */
  async setFanout(k: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`fanout must be a positive integer, not ${k}`);
    await this.#route({ kind: 'settings', fanout: k });
  }

  /** Asks every member for its version. */
  async status(): Promise<StatusResult> {
    this.#assertRunning();
    const { version, leader, nodes } = this.#rumor;
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

  on<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T>[K]>): this {
    this.#events.on(type, handler);
    return this;
  }

  off<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T>[K]>): this {
    this.#events.off(type, handler);
    return this;
  }

  /** Counters since start. */
  metrics(): MetricsSnapshot {
    return this.#metrics.snapshot({ version: this.version, members: this.nodes.length, snapshotWrites: this.#snapshot.writes });
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #boot(): Promise<void> {
    await this.#conn.ready();
    const channel = this.#wire.channel;
    if ((await this.#conn.listeners(channel)) > 0) throw new NodeIdInUseError(this.id, this.namespace);
    await this.#conn.subscribe(channel);
    if ((await this.#conn.listeners(channel)) > 1) throw new NodeIdInUseError(this.id, this.namespace);
    // Messages that arrive meanwhile wait in the mailbox behind the recovery.
    await this.#mailbox.run(() => this.#recover());
    this.#state = 'running';
    this.#schedule();
  }

  /** Cold start: the stored rumor, checked against one live member; or a new cluster. */
  async #recover(): Promise<void> {
    const stored = await this.#snapshot.read();
    if (!stored) {
      this.#install(R.initialRumor<T>(this.id, undefined, this.#o, Date.now()));
      this.#snapshot.save(this.#rumor);
      return;
    }
    this.#install(stored);
    for (const peer of shuffle(stored.nodes.filter((n) => n !== this.id))) {
      let theirs: Rumor<T>;
      try {
        theirs = (await this.#wire.request(peer, 'pull', {}, Math.min(COLD_START_PULL_TIMEOUT_MS, this.#o.rpcTimeoutMs * 2))) as Rumor<T>;
      } catch {
        continue;
      }
      if (!isRumor(theirs)) continue;
      const verdict = R.compare(this.#rumor, theirs);
      if (verdict === 'older') continue;
      this.#consider(theirs, peer);
      this.#synced = true;
      break;
    }
    this.#snapshot.save(this.#rumor);
  }

  async #shutdown(options: StopOptions): Promise<void> {
    if (this.#state === 'stopped') return;
    if (options.leave && this.#state === 'running') {
      await this.leave(this.id).catch((err: unknown) => this.#o.logger.warn('simple-gossip: leave on stop failed', err));
    }
    this.#state = 'stopping';
    clearTimeout(this.#timer);
    await this.#mailbox.run(() => this.#handOver()).catch((err: unknown) => this.#o.logger.warn('simple-gossip: hand-over failed', err));
    await this.#snapshot.flush().catch(() => undefined);
    this.#wire.close();
    this.#updates.rejectAll(new StoppedError());
    await this.#conn.close();
    this.#state = 'stopped';
  }

  /** A leader that stops chooses the next one and tells it, and its neighbours, before it goes. */
  async #handOver(): Promise<void> {
    const r = this.#rumor;
    if (r.leader !== this.id || r.nodes.length < 2) return;
    let next = chooseLeader(r.nodes, this.id, this.#down, this.id);
    while (next !== this.id && !(await this.#wire.listening(next))) {
      this.#down.add(next);
      next = chooseLeader(r.nodes, this.id, this.#down, this.id);
    }
    if (next === this.id) return;
    const handed = R.change(r, this.id, Date.now(), { leader: next });
    this.#commit(handed, undefined, [next]);
    await this.#conn.cmd.ping(); // every PUBLISH queued before it has been sent
  }

  // ---- the write path -------------------------------------------------

  /** Routes a value or an updater; resolves to the version that holds it. */
  async #set(valueOrUpdater: T | undefined | Updater<T>): Promise<number> {
    this.#assertRunning();
    if (typeof valueOrUpdater === 'function') {
      await this.#updates.add(valueOrUpdater as Updater<T>);
      return this.version;
    }
    this.#checkEncodable(valueOrUpdater);
    const reply = await this.#route({ kind: 'set', data: valueOrUpdater });
    return reply.rumor.version;
  }

  /**
   * One batch of updaters: applied in order to the latest data here, then sent
   * to the leader as a compare-and-set on the version they were computed
   * from; run again (with jitter) while the leader has moved on.
   */
  async #runBatch(batch: PendingUpdate<T>[]): Promise<void> {
    for (let attempt = 0; attempt < MAX_UPDATE_RETRIES; attempt++) {
      const base = this.#rumor;
      const result = applyUpdaters(batch, base.data);
      if (batch.length === 0) return;
      if (result.changed) this.#checkEncodable(result.data);
      const op: WriteOp = result.changed
        ? { kind: 'cas', data: result.data, base: base.version }
        : { kind: 'check', base: base.version };
      const reply = await this.#route(op);
      if (reply.status === 'ok') return;
      await sleep(Math.random() * 2 * (attempt + 1));
    }
    throw new ConflictError(MAX_UPDATE_RETRIES);
  }

  /**
   * Sends a write to whoever leads, following redirects; a leader nobody
   * listens for (or that does not answer) is marked down and the next one
   * chosen, which may be this node.
   */
  async #route(op: WriteOp): Promise<Exclude<WriteReply, { status: 'redirect' }>> {
    let target = this.#rumor.leader;
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ROUTE_ATTEMPTS; attempt++) {
      this.#assertRunning();
      if (this.#down.has(target)) target = chooseLeader(this.#rumor.nodes, target, this.#down, this.id);
      let reply: WriteReply;
      if (target === this.id) {
        reply = await this.#mailbox.run(() => this.#serveWrite(op, this.id));
      } else {
        try {
          reply = (await this.#wire.request(target, 'write', { op }, this.#o.rpcTimeoutMs)) as WriteReply;
        } catch (err) {
          if (!(err instanceof NoListenerError || err instanceof RequestTimeoutError)) throw err;
          this.#o.logger.debug(`simple-gossip: leader ${target} is unreachable (${(err as GossipError).code})`);
          this.#down.add(target);
          lastError = err;
          target = this.#rumor.leader;
          continue;
        }
        if (isRumor(reply.rumor)) await this.#mailbox.run(() => this.#consider(reply.rumor as Rumor<T>, target));
      }
      if (reply.status !== 'redirect') return reply;
      target = reply.leader;
      if (attempt > 1) await sleep(Math.random() * 5 * attempt);
    }
    throw new NoLeaderError(`no leader took the write after ${MAX_ROUTE_ATTEMPTS} attempts`, { cause: lastError });
  }

  /** Serves a write in the mailbox: as the leader, or by taking over from a dead one, or by redirecting. */
  async #serveWrite(op: WriteOp, from: string): Promise<WriteReply> {
    if (this.#rumor.leader !== this.id) {
      const leader = this.#rumor.leader;
      if (await this.#answers(leader)) {
        this.#down.delete(leader);
        return { status: 'redirect', leader, rumor: this.#rumor };
      }
      this.#down.add(leader);
      const next = chooseLeader(this.#rumor.nodes, leader, this.#down, this.id);
      if (next !== this.id) return { status: 'redirect', leader: next, rumor: this.#rumor };
      await this.#takeLeadership(leader);
      if (this.#rumor.leader !== this.id) return { status: 'redirect', leader: this.#rumor.leader, rumor: this.#rumor };
    }
    return this.#applyAsLeader(op, from);
  }

  /**
   * Before taking writes, a new leader pulls the newest rumor among the live
   * members, so a write the dead leader pushed to only some of them is kept
   * and the cluster cannot split on it.
   */
  async #takeLeadership(dead: string): Promise<void> {
    const peers = this.#rumor.nodes.filter((n) => n !== this.id && n !== dead && !this.#down.has(n));
    const timeout = Math.min(this.#o.rpcTimeoutMs / 2, 1_500);
    const answers = await Promise.allSettled(peers.map((p) => this.#wire.request(p, 'pull', {}, timeout)));
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled' && isRumor(a.value)) this.#consider(a.value as Rumor<T>, peers[i]!);
    });
    const leader = this.#rumor.leader;
    if (leader !== this.id && leader !== dead && !this.#down.has(leader)) return;
    this.#o.logger.info(`simple-gossip: ${this.id} takes over as leader from ${dead}`);
    this.#commit(R.change(this.#rumor, this.id, Date.now(), { leader: this.id }));
  }

  /**
   * Whether `id` is there and answering: a listener on its channel is not
   * enough (a frozen process keeps its subscription), so it must also answer
   * a version request within half the RPC timeout.
   */
  async #answers(id: string): Promise<boolean> {
    if (!(await this.#wire.listening(id))) return false;
    try {
      await this.#wire.request(id, 'vsn', {}, Math.max(50, this.#o.rpcTimeoutMs / 2));
      return true;
    } catch {
      return false;
    }
  }

  async #applyAsLeader(op: WriteOp, from: string): Promise<WriteReply> {
    const r = this.#rumor;
    const now = Date.now();
    switch (op.kind) {
      case 'set':
        this.#commit(R.change(r, this.id, now, { data: this.#own(op.data, from) }), from);
        break;
      case 'cas':
        if (op.base !== r.version) return { status: 'conflict', rumor: r };
        this.#commit(R.change(r, this.id, now, { data: this.#own(op.data, from) }), from);
        break;
      case 'check':
        if (op.base !== r.version) return { status: 'conflict', rumor: r };
        break;
      case 'settings':
        this.#commit(R.change(r, this.id, now, {
          fanout: op.fanout ?? r.fanout,
          gossipIntervalMs: op.gossipIntervalMs ?? r.gossipIntervalMs,
        }), from);
        break;
      case 'join':
        await this.#admit(op.id);
        break;
      case 'leave':
        this.#remove(op.id);
        break;
    }
    return { status: 'ok', rumor: this.#rumor };
  }

  /** A value that came from this process is copied first, so freezing it never touches the caller's object. */
  #own(data: unknown, from: string): T | undefined {
    return (from === this.id ? roundTrip(data) : data) as T | undefined;
  }

  /** The leader adds `id`: it must be listening; the side with the higher version keeps its data. */
  async #admit(id: string): Promise<void> {
    if (id === this.id || this.#rumor.nodes.includes(id)) return;
    if (!(await this.#wire.listening(id))) throw new CouldNotConnectError(id);
    const proposed = R.addNode(this.#rumor, id, this.id, Date.now());
    let answer: unknown;
    try {
      answer = await this.#wire.request(id, 'join', { rumor: proposed }, this.#o.rpcTimeoutMs);
    } catch (err) {
      throw new CouldNotConnectError(id, { cause: err });
    }
    const upgrade = (answer as { rumor?: unknown } | null)?.rumor;
    if (isRumor(upgrade)) this.#commit(upgrade as Rumor<T>, id);
    else this.#commit(proposed, id, [id]);
  }

  /** The leader removes `id` and tells the old neighbours and `id` itself. */
  #remove(id: string): void {
    const before = this.#rumor;
    if (!before.nodes.includes(id)) return;
    const oldNeighbours = this.#tree.neighbours(before.nodes, before.fanout, this.id);
    const after = R.removeNode(before, id, this.id, Date.now(), this.#down);
    const extra = [...oldNeighbours, id, after.leader].filter((n) => n !== this.id);
    this.#commit(after, undefined, extra);
    if (id === this.id) this.#commit(R.restartAlone(after, this.id, Date.now()));
  }

  // ---- inbound --------------------------------------------------------

  #onEnvelope(env: Exclude<AnyEnvelope, Envelope<'reply'>>): void {
    if (this.#state === 'stopped') return;
    if (!env.observer) this.#down.delete(env.from);
    switch (env.type) {
      case 'pull':
        this.#wire.answer(env, () => this.#rumor);
        return;
      case 'vsn':
        this.#wire.answer(env, () => this.#rumor.version);
        return;
      case 'push':
        this.#enqueue(() => this.#consider(env.body.rumor as Rumor<T>, env.from));
        return;
      case 'head':
        this.#enqueue(() => this.#onHead(env.body, env.from));
        return;
      case 'write':
        this.#wire.answer(env, () => this.#mailbox.run(() => this.#serveWrite(env.body.op, env.from)));
        return;
      case 'join':
        this.#wire.answer(env, () => this.#mailbox.run(() => this.#onJoin(env.body.rumor as Rumor<T>, env.from)));
        return;
    }
  }

  /** Anti-entropy: pull what is newer (or concurrent), push back what is older. */
  #onHead(head: R.Head, from: string): void {
    switch (R.compare(this.#rumor, head)) {
      case 'newer':
      case 'concurrent':
        this.#wire.request(from, 'pull', {}, this.#o.rpcTimeoutMs).then(
          (theirs) => {
            if (isRumor(theirs)) this.#enqueue(() => this.#consider(theirs as Rumor<T>, from));
          },
          () => undefined,
        );
        return;
      case 'older':
        if (this.#rumor.nodes.includes(from)) this.#wire.push(this.#rumor, [from]);
        this.#synced ||= this.#rumor.nodes.includes(from);
        return;
      case 'same':
        this.#synced ||= this.#rumor.nodes.includes(from);
        return;
    }
  }

  /** A leader adds this node: the side with the higher version wins. */
  #onJoin(incoming: Rumor<T>, leader: string): { rumor?: Rumor<T> } {
    const mine = this.#rumor;
    if (mine.version <= incoming.version) {
      this.#commit(incoming, leader);
      return {};
    }
    const newcomers = incoming.nodes.filter((n) => !mine.nodes.includes(n));
    const upgraded: Rumor<T> = {
      ...mine,
      version: mine.version + 1,
      vclock: vc.increment(vc.merge(mine.vclock, incoming.vclock), this.id, Date.now()),
      nodes: [...newcomers, ...mine.nodes],
    };
    this.#commit(upgraded, leader);
    return { rumor: upgraded };
  }

  /** The accept rule, applied (see {@link R.reconcile}). */
  #consider(incoming: Rumor<T>, from: string): void {
    if (incoming.nodes.includes(this.id) && this.#rumor.nodes.includes(from)) this.#synced = true;
    const outcome = R.reconcile(this.#rumor, incoming, this.id, Date.now());
    switch (outcome.kind) {
      case 'keep':
        return;
      case 'adopt':
        this.#commit(outcome.next, from);
        return;
      case 'merge':
        this.#metrics.count('merges');
        this.#commit(outcome.next, undefined);
        return;
      case 'removed':
        this.#o.logger.info(`simple-gossip: ${this.id} was removed from the cluster; it goes on alone`);
        this.#commit(outcome.next);
        return;
    }
  }

  // ---- state changes --------------------------------------------------

  /**
   * Makes `next` this node's rumor: the frozen cache, events, the snapshot,
   * and a push down the epidemic tree (not back to `from`, plus `extra`).
   */
  #commit(next: Rumor<T>, from?: string, extra: readonly string[] = []): void {
    const prev = this.#rumor;
    const dataChanged = this.#install(next);
    next = this.#rumor;
    this.#snapshot.save(next);
    const targets = new Set(this.#tree.neighbours(next.nodes, next.fanout, this.id));
    for (const n of extra) targets.add(n);
    targets.delete(this.id);
    if (from !== undefined) targets.delete(from);
    this.#wire.push(next, targets);
    if (next.gossipIntervalMs !== prev.gossipIntervalMs) this.#schedule();
    this.#events.emit('rumor', next);
    if (dataChanged) this.#events.emit('data', { data: this.#frozen, version: next.version });
  }

  /** Sets the rumor and the frozen cache; true when the data changed. */
  #install(next: Rumor<T>): boolean {
    const prev = this.#rumor as Rumor<T> | undefined;
    if (prev !== undefined && (prev.data === next.data || isDeepStrictEqual(prev.data, next.data))) {
      // Same data: keep the frozen copy, so get() keeps returning the same object.
      this.#rumor = Object.freeze({ ...next, data: prev.data });
      return false;
    }
    this.#frozen = deepFreeze(next.data);
    this.#rumor = Object.freeze(next);
    return prev !== undefined;
  }

  // ---- background -----------------------------------------------------

  /** The anti-entropy tick: a self-rescheduling, unref'd timer. */
  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#state !== 'running') return;
    const delay = this.#rumor.gossipIntervalMs + Math.random() * GOSSIP_JITTER_MS;
    this.#timer = setTimeout(() => {
      this.#gossip();
      this.#schedule();
    }, delay);
    this.#timer.unref();
  }

  /** Sends this node's head to one random member. */
  #gossip(): void {
    const others = this.#rumor.nodes.filter((n) => n !== this.id);
    const peer = others[Math.floor(Math.random() * others.length)];
    if (peer === undefined) return;
    this.#metrics.count('antiEntropyRounds');
    this.#wire.send(peer, 'head', R.headOf(this.#rumor)).catch(() => undefined);
  }

  /** After Redis comes back: the snapshot may be gone and pushes were missed. */
  #onReconnect(): void {
    if (this.#state !== 'running') return;
    this.#o.logger.info(`simple-gossip: ${this.id} reconnected; rewriting its snapshot and gossiping at once`);
    this.#synced = false;
    this.#snapshot.save(this.#rumor);
    this.#gossip();
  }

  // ---- helpers --------------------------------------------------------

  #enqueue(task: () => void): void {
    this.#mailbox.run(task).catch((err: unknown) => this.#report(err));
  }

  #checkEncodable(value: unknown): void {
    assertSerializable(value);
    const bytes = Buffer.byteLength(serialize(value));
    if (bytes > this.#o.maxMessageBytes) throw new MessageTooLargeError(bytes, this.#o.maxMessageBytes);
  }

  #report(err: unknown): void {
    this.#events.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #assertRunning(): void {
    if (this.#state !== 'running') throw new StoppedError();
  }
}

function shuffle<X>(xs: X[]): X[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
