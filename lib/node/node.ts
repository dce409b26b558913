/**
 * One member, v2: commits go to Redis in one script from this node, changes
 * come in from the scripts' publishes, and every input — a change, a
 * message, a script's answer, a state read, a tick — goes through one
 * synchronous step, so each state change is atomic. The rules it follows
 * are in lib/model; this file carries out what they decide.
 */
import { isDeepStrictEqual } from 'node:util';
import { deleteCfgUpdater, setCfgUpdater, CfgView } from '../cfg.js';
import { deserializeForeign } from '../codec.js';
import { GOSSIP_JITTER_MS, MAX_VERSION_HOLD_MS, OWN_CHANGE_WAIT_MS, REPLAY_WINDOW_MS, RESTORE_LOCK_MS } from '../constants.js';
import { BadMessageError, CouldNotConnectError, GossipError, NodeIdInUseError, PersistenceError, StoppedError } from '../errors.js';
import { EventBus } from '../events.js';
import type { GossipEvents, GossipEventType, Handler } from '../events.js';
import { deepFreeze } from '../freeze.js';
import { Metrics } from '../metrics.js';
import type { MetricsSnapshot } from '../metrics.js';
import { chainHash } from '../model/chain.js';
import { dueForEviction, judgeTick, pickCluster, SILENT_PERIODS, union, without } from '../model/housekeeping.js';
import { chooseLeader } from '../model/leader.js';
import { applyData, changedKeys, headOf, isRecord, judgeChange, judgeHead } from '../model/state.js';
import type { Book, DataChange, Head, State } from '../model/state.js';
import { resolveOptions } from '../options.js';
import type { GossipOptions, ResolvedOptions } from '../options.js';
import { awaitVersion } from '../propagation.js';
import type { SetSyncOptions } from '../propagation.js';
import { Signer } from '../signing.js';
import { RedisClock } from '../transport/clock.js';
import { Connection } from '../transport/connection.js';
import { isHead } from '../transport/envelope.js';
import type { AnyEnvelope, Envelope } from '../transport/envelope.js';
import type { ChangeFrame } from '../transport/frames.js';
import { Keys } from '../transport/keys.js';
import { Messages } from '../transport/messages.js';
import type { Updater } from '../updates.js';
import { Store } from './store.js';
import type { NodeKey, Stored } from './store.js';
import { Writer } from './writes.js';
import type { DataOp } from './writes.js';

/** What {@link GossipNode.status} answers: the original's three results, in one shape. */
export type StatusResult =
  | { readonly ok: true; readonly version: number; readonly leader: string; readonly nodes: readonly string[] }
  | { readonly ok: false; readonly error: 'gossip_vsn_mismatch'; readonly leader: string; readonly nodes: readonly string[] }
  | { readonly ok: false; readonly error: 'timeout'; readonly unresponsive: readonly string[]; readonly leader: string; readonly nodes: readonly string[] };

export interface StopOptions {
  /** Leave the cluster before stopping (otherwise membership is kept for a restart). @default false */
  readonly leave?: boolean;
}

/** Every input of the node's step: one entry each. */
type Input<T> =
  | { readonly kind: 'change'; readonly frame: ChangeFrame; readonly verified?: boolean }
  | { readonly kind: 'envelope'; readonly env: Exclude<AnyEnvelope, Envelope<'reply'>> }
  | { readonly kind: 'committed'; readonly change: DataChange }
  | { readonly kind: 'stored'; readonly stored: Stored<T> };

type Phase = 'starting' | 'running' | 'stopping' | 'stopped';
type KeyListener = (value: unknown, info: { readonly version: number }) => void;

const EMPTY_BOOK: Book = { mode: 'v', wt: 0, seq: 0, created: 0, entries: new Map() };

/** How long a starting node holds the claim on its id (a start takes milliseconds). */
const CLAIM_MS = 5_000;

export class Node<T = unknown> {
  readonly #o: ResolvedOptions;
  readonly #keys: Keys;
  readonly #conn: Connection;
  readonly #clock = new RedisClock();
  readonly #signer: Signer | undefined;
  readonly #messages: Messages;
  readonly #store: Store;
  readonly #writer: Writer<T>;
  readonly #events: EventBus<T, State<T>>;
  readonly #metrics = new Metrics();
  readonly #cfgView = new CfgView();
  readonly #keyListeners = new Map<string, Set<KeyListener>>();
  #state!: State<T>;
  #book: Book = EMPTY_BOOK;
  #phase: Phase = 'starting';
  #synced = false;
  /** Set when this node left on purpose: discovery stays away until join() is called. */
  #paused = false;
  #seenVersion = 0;
  /**
   * Redis's time when this node last took a state whole from Redis: with a
   * secret, a change stamped before it is checked against Redis's write
   * records before it is applied (a replay of a captured frame is not there).
   */
  #trustedAfter = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  /** Own changes whose predecessor has not arrived yet, by the hash they follow. */
  readonly #ownPending = new Map<string, DataChange>();
  readonly #versionWaiters = new Set<{ readonly atLeast: number; readonly done: () => void }>();
  /** The read in flight per cluster, and whether another was asked for meanwhile. */
  readonly #reads = new Map<string, { again: boolean; done: Promise<void> }>();
  #restoring: Promise<void> | undefined;
  #rehoming: Promise<void> | undefined;

  private constructor(o: ResolvedOptions) {
    this.#o = o;
    this.#keys = new Keys(o.namespace, true);
    this.#signer = o.secret === undefined ? undefined : new Signer(o.secret);
    this.#events = new EventBus<T, State<T>>(o.eventMode, o.logger);
    this.#conn = Connection.open(o.redis, {
      onMessage: (channel, message) => this.#messages.receive(channel, message),
      onReconnect: () => this.#onReconnect(),
      onError: (err) => o.logger.debug('simple-gossip: redis', err.message),
    });
    this.#messages = new Messages({
      self: o.nodeId,
      namespace: o.namespace,
      maxMessageBytes: o.maxMessageBytes,
      signer: this.#signer,
      conn: this.#conn,
      keys: this.#keys,
      clock: this.#clock,
      metrics: this.#metrics,
      onChange: (frame) => this.#step({ kind: 'change', frame }),
      onEnvelope: (env) => this.#step({ kind: 'envelope', env }),
      onDrop: (err) => this.#report(err),
    });
    this.#store = new Store({
      self: o.nodeId,
      namespace: o.namespace,
      conn: this.#conn,
      keys: this.#keys,
      signer: this.#signer,
      nodeKeyTtlMs: o.nodeKeyTtlMs,
      replayWindowMs: REPLAY_WINDOW_MS,
      durability: o.durability,
    });
    this.#writer = new Writer<T>({
      store: this.#store,
      clock: this.#clock,
      signer: this.#signer,
      maxMessageBytes: o.maxMessageBytes,
      retryForMs: Math.max(o.rpcTimeoutMs * 3, 5_000),
      state: () => this.#state,
      committed: (change) => this.#ownChange(change),
      catchUp: (version) => this.#catchUp(version),
      restore: () => this.#restore(),
      rehome: () => this.#rehome(),
      assertRunning: () => this.#assertRunning(),
    });
  }

  /** Starts a node: connects, refuses an id that is live, and takes its cluster's state from Redis (or starts one). */
  static async start<T = unknown>(options: GossipOptions = {}): Promise<Node<T>> {
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
  get leader(): string {
    return this.#state.leader;
  }
  get nodes(): readonly string[] {
    return this.#state.nodes;
  }
  get version(): number {
    return this.#state.version;
  }
  /** The whole state (frozen). */
  get rumor(): State<T> {
    return this.#state;
  }
  get(): T | undefined {
    return this.#state.data;
  }
  getCfg<V = unknown>(key: string, dflt?: V): V | undefined {
    return this.#cfgView.read(this.#state.data, key, dflt);
  }
  get ready(): boolean {
    return this.#phase === 'running' && this.#conn.isReady;
  }
  /** False from a start or reconnect until this node has compared its state with Redis's. */
  get synced(): boolean {
    return this.ready && this.#synced;
  }

  // ---- writes ---------------------------------------------------------

  async set(valueOrUpdater: T | undefined | Updater<T>): Promise<void> {
    await this.#set(valueOrUpdater);
  }

  async setSync(valueOrUpdater: T | undefined | Updater<T>, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#awaitVersion(await this.#set(valueOrUpdater), options);
  }

  async setCfg(key: string, value: unknown): Promise<void> {
    await this.#patch(new Map([[key, value]]), []);
  }

  async setCfgSync(key: string, value: unknown, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#awaitVersion(await this.#patch(new Map([[key, value]]), []), options);
  }

  async deleteCfg(key: string): Promise<void> {
    await this.#patch(new Map(), [key]);
  }

  async deleteCfgSync(key: string, options: SetSyncOptions = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await this.#awaitVersion(await this.#patch(new Map(), [key]), options);
  }

  /** Several config keys in one commit; a key given `undefined` is removed. */
  async patchCfg(changes: Readonly<Record<string, unknown>>): Promise<void> {
    const set = new Map<string, unknown>();
    const del: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) del.push(k);
      else set.set(k, v);
    }
    await this.#patch(set, del);
  }

  #set(valueOrUpdater: T | undefined | Updater<T>): Promise<number> {
    this.#assertRunning();
    if (typeof valueOrUpdater === 'function') return this.#writer.update(valueOrUpdater as Updater<T>);
    return this.#writer.write({ op: 'set', value: valueOrUpdater });
  }

  #patch(set: Map<string, unknown>, del: string[]): Promise<number> {
    this.#assertRunning();
    for (const k of [...set.keys(), ...del]) if (typeof k !== 'string') throw new TypeError(`a config key must be a string, not ${typeof k}`);
    const data = this.#state.data;
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
    const op: DataOp = { op: 'patch', set, del };
    return this.#writer.write(op);
  }

  // ---- membership and settings ----------------------------------------

  /** Takes `nodeId` and its whole cluster into this node's cluster, merging their data key by key. */
  async join(nodeId: string): Promise<void> {
    this.#assertRunning();
    if (nodeId === this.id) return;
    this.#paused = false;
    for (let attempt = 0; attempt < 8; attempt++) {
      // It must answer (signed, when there is a secret): a node that is not there, or holds another secret, is not joined.
      const theirHead = await this.#messages.request(nodeId, 'headreq', {}, this.#o.rpcTimeoutMs).catch((err: unknown) => {
        throw new CouldNotConnectError(nodeId, { cause: err });
      });
      if (!isHead(theirHead)) throw new CouldNotConnectError(nodeId);
      const theirKey = { cluster: theirHead.cluster };
      if (theirKey.cluster === this.#state.cluster) {
        if (this.#state.nodes.includes(nodeId)) return;
        await this.#read(this.#state.cluster);
        if (this.#state.nodes.includes(nodeId)) return;
        continue;
      }
      const theirs = await this.#store.read<T>(theirKey.cluster);
      if (!theirs) throw new CouldNotConnectError(nodeId);
      if (await this.#merge(this.#state, theirs.state)) return;
    }
    throw new GossipError('join_failed', `joining ${nodeId} kept conflicting with other changes`);
  }

  /** Removes `nodeId` (this node or another); the removed node goes on alone with the data it had. */
  async leave(nodeId: string): Promise<void> {
    this.#assertRunning();
    if (nodeId === this.id) this.#paused = true;
    if (!this.#state.nodes.includes(nodeId)) return;
    if (this.#state.nodes.length === 1) return;
    // Reading the result, a node that left finds itself unlisted and goes on alone.
    await this.#commitMeta((s) => ({ ...without(s.nodes, s.leader, nodeId, this.id), why: `leave ${nodeId}`, tell: [nodeId] }));
  }

  async setGossipInterval(ms: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(ms) || ms < 1) throw new RangeError(`gossip interval must be a positive integer, not ${ms}`);
    await this.#commitMeta(() => ({ gossipIntervalMs: ms, why: 'settings' }));
  }

  async setFanout(k: number): Promise<void> {
    this.#assertRunning();
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`fanout must be a positive integer, not ${k}`);
    await this.#commitMeta(() => ({ fanout: k, why: 'settings' }));
  }

  async status(): Promise<StatusResult> {
    this.#assertRunning();
    const { version, leader, nodes } = this.#state;
    const answers = await Promise.all(nodes.map((n) => (n === this.id ? version : this.#messages.version(n, this.#o.statusTimeoutMs))));
    const unresponsive = nodes.filter((_, i) => answers[i] === undefined);
    if (unresponsive.length > 0) return { ok: false, error: 'timeout', unresponsive, leader, nodes };
    if (answers.some((v) => v !== version)) return { ok: false, error: 'gossip_vsn_mismatch', leader, nodes };
    return { ok: true, version, leader, nodes };
  }

  // ---- events ---------------------------------------------------------

  subscribe(handler: Handler<GossipEvents<T, State<T>>['data']>, type?: 'data'): () => void;
  subscribe(handler: Handler<GossipEvents<T, State<T>>['rumor']>, type: 'rumor'): () => void;
  subscribe(handler: Handler<never>, type: 'data' | 'rumor' = 'data'): () => void {
    const h = handler as Handler<GossipEvents<T, State<T>>[typeof type]>;
    this.#events.on(type, h);
    return () => this.#events.off(type, h);
  }

  unsubscribe(handler: Handler<never>): void {
    this.#events.offAll(handler);
  }

  on<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, State<T>>[K]>): this {
    this.#events.on(type, handler);
    return this;
  }

  off<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, State<T>>[K]>): this {
    this.#events.off(type, handler);
    return this;
  }

  /** Calls `fn` whenever the value under `key` changes (config mode); returns its unsubscribe. */
  onKey(key: string, fn: KeyListener): () => void {
    let set = this.#keyListeners.get(key);
    if (!set) this.#keyListeners.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#keyListeners.delete(key);
    };
  }

  /** Resolves once this node has compared its state with Redis's (at once if it has). */
  async whenSynced(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? this.#o.connectTimeoutMs);
    while (!this.synced) {
      options.signal?.throwIfAborted();
      this.#assertRunning();
      if (Date.now() >= deadline) throw new GossipError('timeout', `not synced within ${options.timeoutMs ?? this.#o.connectTimeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10).unref());
    }
  }

  metrics(): MetricsSnapshot {
    const { version, nodes } = this.#state;
    return this.#metrics.snapshot({ version, members: nodes.length, snapshotWrites: this.#metrics.counter('nodeKeyWrites'), versionLag: Math.max(0, this.#seenVersion - version) });
  }

  // ---- lifecycle ------------------------------------------------------

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options);
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #boot(): Promise<void> {
    const o = this.#o;
    await this.#conn.ready(o.connectTimeoutMs, o.signal);
    const channel = this.#messages.channel;
    const sentAt = Date.now();
    // The node key is read meanwhile: a read changes nothing, even if this id turns out to be taken.
    const [time, claimed, listeners, nodeKey] = await Promise.all([
      this.#store.time(),
      this.#store.claim(CLAIM_MS),
      this.#conn.listeners(channel),
      this.#store.nodeKey(this.id),
    ]);
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
    this.#synced = true;
    this.#phase = 'running';
    o.logger.debug(`simple-gossip: ${this.id} started at version ${this.#state.version} with ${this.#state.nodes.length} member(s), led by ${this.#state.leader}`);
    if (o.join === 'auto') await this.#discover().catch((err: unknown) => o.logger.debug('simple-gossip: discovery failed', err));
    this.#schedule();
  }

  /** Cold start: the cluster its node key names, read whole; or a live member's word; or a cluster of its own. */

  async #recover(nodeKey: NodeKey | undefined): Promise<void> {
    const stored = nodeKey?.cluster === undefined ? undefined : await this.#store.read<T>(nodeKey.cluster).catch((err: unknown) => this.#report(err));
    if (stored?.state.nodes.includes(this.id)) {
      this.#adopt(stored);
    } else if (stored) {
      // Removed while it was down: it goes on alone with the data it would have had.
      await this.#startCluster(stored.state.data, stored.book, Math.max(stored.state.version, nodeKey?.version ?? 0));
    } else if (!(nodeKey?.cluster !== undefined && (await this.#fromLiveMember(nodeKey.cluster, nodeKey.nodes)))) {
      await this.#startCluster(undefined, EMPTY_BOOK, nodeKey?.version ?? 0);
    }
  }

  /** Cold start where the cluster's hash is gone: a live member tells where it went, or restores it. */
  async #fromLiveMember(cluster: string, nodes: readonly string[]): Promise<boolean> {
    for (const peer of nodes.filter((n) => n !== this.id)) {
      const head = await this.#messages.request(peer, 'headreq', {}, Math.min(this.#o.rpcTimeoutMs, 1_000)).catch(() => undefined);
      if (!isHead(head)) continue;
      const theirs = await this.#store.read<T>(head.cluster).catch(() => undefined);
      if (theirs?.state.nodes.includes(this.id)) {
        this.#adopt(theirs);
        return true;
      }
      if (head.cluster === cluster && !theirs) {
        // Redis lost it while that member holds it: it writes it back.
        await this.#messages.request(peer, 'restore', {}, this.#o.rpcTimeoutMs).catch(() => undefined);
        const restored = await this.#store.read<T>(cluster).catch(() => undefined);
        if (restored?.state.nodes.includes(this.id)) {
          this.#adopt(restored);
          return true;
        }
      }
    }
    return false;
  }

  /** The first state this node holds (no events: nobody subscribed yet). */
  #adopt(stored: Stored<T>): void {
    this.#trustedAfter = this.#clock.now();
    this.#state = freezeState(stored.state);
    this.#book = stored.book;
    this.#seenVersion = stored.state.version;
  }

  /** Starts a one-node cluster of this node's own with `data`, at a version above `after`. */
  async #startCluster(data: T | undefined, book: Book, after: number): Promise<void> {
    const cluster = `${this.id}@${this.#clock.now().toString(36)}.${Math.random().toString(36).slice(2, 6)}`;
    const state: State<T> = {
      cluster,
      version: after + 1,
      hash: '',
      data,
      leader: this.id,
      nodes: [this.id],
      fanout: this.#o.fanout,
      gossipIntervalMs: this.#state?.gossipIntervalMs ?? this.#o.gossipIntervalMs,
    };
    const put = await this.#store.put('create', { state, book: { ...book, created: 0 } });
    const stored = { state: { ...state, hash: put.hash }, book: { ...book, created: put.at } };
    if (this.#state === undefined) this.#adopt(stored);
    else this.#install(stored.state, stored.book);
  }

  async #shutdown(options: StopOptions): Promise<void> {
    if (this.#phase === 'stopped') return;
    if (options.leave && this.#phase === 'running') {
      await this.leave(this.id).catch((err: unknown) => this.#o.logger.warn('simple-gossip: leave on stop failed', err));
    } else if (this.#phase === 'running' && this.#state.leader === this.id && this.#state.nodes.length > 1) {
      // Housekeeping goes on without this node.
      await this.#commitMeta((s) => ({ leader: chooseLeader(s.nodes, this.id, new Set(), s.nodes[0]!), why: 'hand-over' })).catch((err: unknown) =>
        this.#o.logger.warn('simple-gossip: hand-over failed', err),
      );
    }
    this.#phase = 'stopping';
    clearTimeout(this.#timer);
    await this.#store.writeNodeKey(this.#state, this.#clock.now()).catch((err: unknown) => this.#o.logger.warn('simple-gossip: writing the node key on stop failed', err));
    this.#messages.close();
    this.#writer.rejectAll(new StoppedError());
    for (const w of this.#versionWaiters) w.done();
    await this.#conn.close();
    this.#phase = 'stopped';
  }

  // ---- the step -------------------------------------------------------

  #step(input: Input<T>): void {
    if (this.#phase === 'stopped') return;
    switch (input.kind) {
      case 'change':
        this.#onChange(input.frame, input.verified === true);
        return;
      case 'envelope':
        this.#onEnvelope(input.env);
        return;
      case 'committed':
        this.#onCommitted(input.change);
        return;
      case 'stored':
        this.#onStored(input.stored);
        return;
    }
  }

  #onChange(frame: ChangeFrame, verified: boolean): void {
    const { header: h, meta } = frame;
    const own = headOf(this.#state);
    if (h.c === own.cluster && h.n > this.#seenVersion) this.#seenVersion = h.n;
    const isData = meta.op === 'set' || meta.op === 'patch';
    const verdict = judgeChange(own, { cluster: h.c, version: h.n, prev: h.p, data: isData });
    if (verdict === 'stale') {
      this.#metrics.count('changes.stale');
      return;
    }
    if (verdict === 'read' || !isData) {
      this.#metrics.count('changes.read');
      this.#readSoon(h.c);
      return;
    }
    if (chainHash(h.p, h.n, frame.metaText) !== h.h) {
      this.#metrics.drop('bad_shape', Date.now());
      this.#report(new GossipError('bad_message', `a change to version ${h.n} does not match its hash chain; reading the state instead`));
      this.#readSoon(own.cluster);
      return;
    }
    if (this.#signer && !verified && meta.ts < this.#trustedAfter) {
      // Stamped before this node last read the state: a genuine change is in Redis's write records, a replay is not.
      this.#verify(frame);
      return;
    }
    let values: unknown[];
    try {
      values = frame.values.map((t) => deserializeForeign<unknown>(t));
    } catch (err) {
      this.#report(new GossipError('bad_message', `a change to version ${h.n} does not decode: ${(err as Error).message}`));
      this.#readSoon(own.cluster);
      return;
    }
    this.#metrics.count('changes.applied');
    const next = applyData(this.#state, this.#book, {
      version: h.n,
      hash: h.h,
      prev: h.p,
      at: h.at,
      op: meta.op,
      ...(meta.mode ? { mode: meta.mode } : {}),
      set: meta.set,
      values,
      sigs: meta.sigs ?? [],
      del: meta.del ?? [],
    });
    this.#install(next.state, next.book);
  }

  /** Checks a change against the record its commit left in Redis, then applies it, or drops it as a replay. */
  #verify(frame: ChangeFrame): void {
    const w = (frame.meta as { w: string }).w;
    this.#store.writeRecord(w).then(
      (rec) => {
        if (rec?.version === frame.header.n && rec.hash === frame.header.h) {
          this.#step({ kind: 'change', frame, verified: true });
          return;
        }
        if (this.#metrics.drop('replay', Date.now())) this.#report(new BadMessageError('replay', `change ${w} to version ${frame.header.n} is not what Redis committed for it: a replay`));
      },
      (err: unknown) => this.#report(err),
    );
  }

  #onCommitted(change: DataChange): void {
    const s = this.#state;
    if (s.version >= change.version) return;
    if (s.version === change.version - 1 && s.hash === change.prev) {
      const next = applyData(s, this.#book, change);
      this.#install(next.state, next.book);
      return;
    }
    // The changes before it are on their way: apply it after them, or read.
    this.#ownPending.set(change.prev, change);
    setTimeout(() => {
      if (this.#ownPending.get(change.prev) === change && this.#state.version < change.version) {
        this.#ownPending.delete(change.prev);
        this.#readSoon(this.#state.cluster);
      }
    }, OWN_CHANGE_WAIT_MS).unref();
  }

  #onStored(stored: Stored<T>): void {
    const s = this.#state;
    const next = stored.state;
    if (!next.nodes.includes(this.id)) return;
    // Versions never go down: another cluster's state is taken only above this one (a merge's always is).
    if (next.version < s.version || (next.cluster !== s.cluster && next.version === s.version)) return;
    if (next.cluster === s.cluster && next.version === s.version && next.hash === s.hash) return;
    if (next.cluster === s.cluster && next.version === s.version) {
      this.#report(new GossipError('diverged', `this node's version ${s.version} is not Redis's; it takes Redis's state`));
    }
    this.#trustedAfter = this.#clock.now();
    this.#install(reuseFrozen(s.data, next), stored.book);
  }

  #onEnvelope(env: Exclude<AnyEnvelope, Envelope<'reply'>>): void {
    switch (env.type) {
      case 'head':
        this.#onHead(env.body, env.from);
        return;
      case 'vsn':
        this.#messages.answer(env, () => this.#whenVersion(env.body.atLeast ?? 0, Math.min(env.body.waitMs ?? 0, MAX_VERSION_HOLD_MS)));
        return;
      case 'headreq':
        this.#messages.answer(env, () => headOf(this.#state));
        return;
      case 'restore':
        this.#messages.answer(env, async () => {
          await this.#store.put('restore', { state: this.#state, book: this.#book });
          return headOf(this.#state);
        });
        return;
    }
  }

  #onHead(theirs: Head, from: string): void {
    const own = headOf(this.#state);
    const member = this.#state.nodes.includes(from);
    if (member && theirs.cluster === own.cluster && theirs.version > this.#seenVersion) this.#seenVersion = theirs.version;
    switch (judgeHead(own, theirs)) {
      case 'behind':
      case 'diverged':
        this.#readSoon(own.cluster);
        return;
      case 'ahead':
        if (member) this.#sendHead(from);
        return;
      case 'foreign':
        // It gossips as if it were elsewhere: tell it where this cluster is, and check that this node still is.
        if (!member) this.#sendHead(from);
        else this.#readSoon(own.cluster);
        return;
      case 'same':
        return;
    }
  }

  /** Makes `next` this node's state: the frozen cache, the events, the node key if membership changed. */
  #install(next: State<T>, book: Book): void {
    const prev = this.#state;
    const state = freezeState(next, prev.data);
    this.#state = state;
    this.#book = book;
    if (state.version > this.#seenVersion || state.cluster !== prev.cluster) this.#seenVersion = state.version;
    const dataChanged = state.data !== prev.data;
    this.#events.emit('rumor', state);
    if (dataChanged) {
      this.#events.emit('data', { data: state.data, version: state.version });
      this.#notifyKeys(prev.data, state.data, state.version);
    }
    if (state.cluster !== prev.cluster || !sameList(state.nodes, prev.nodes)) {
      this.#metrics.count('nodeKeyWrites');
      this.#store.writeNodeKey(state).catch((err: unknown) => this.#report(err));
    }
    if (state.gossipIntervalMs !== prev.gossipIntervalMs) this.#schedule();
    for (const w of this.#versionWaiters) if (state.version >= w.atLeast) w.done();
    const pending = this.#ownPending.get(state.hash);
    if (pending) {
      this.#ownPending.delete(state.hash);
      this.#onCommitted(pending);
    }
  }

  #notifyKeys(before: unknown, after: unknown, version: number): void {
    if (this.#keyListeners.size === 0) return;
    for (const key of changedKeys(before, after)) {
      const listeners = this.#keyListeners.get(key);
      if (!listeners) continue;
      const value = isRecord(after) ? after[key] : undefined;
      for (const fn of listeners) {
        try {
          fn(value, { version });
        } catch (err) {
          this.#report(new GossipError('subscriber_failed', `an onKey('${key}') listener threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        }
      }
    }
  }

  // ---- reads from Redis ------------------------------------------------

  /** Reads `cluster`'s state and installs it if it is news (coalesced: one read in flight per cluster). */
  #readSoon(cluster: string): void {
    this.#read(cluster).catch((err: unknown) => this.#report(err));
  }

  #read(cluster: string): Promise<void> {
    const inFlight = this.#reads.get(cluster);
    if (inFlight) {
      inFlight.again = true;
      return inFlight.done;
    }
    const slot = { again: false, done: Promise.resolve() };
    slot.done = (async () => {
      let unlisted = false;
      let missing = false;
      try {
        do {
          slot.again = false;
          const stored = await this.#store.read<T>(cluster);
          this.#metrics.count('reads');
          const own = cluster === this.#state.cluster;
          unlisted = stored !== undefined && own && !stored.state.nodes.includes(this.id);
          missing = stored === undefined && own;
          if (stored && !unlisted) this.#step({ kind: 'stored', stored });
        } while (slot.again);
      } finally {
        this.#reads.delete(cluster);
      }
      // After the slot is free: what follows reads again (a rejoin reads the cluster it joins).
      if (unlisted) await this.#removed();
      else if (missing && this.#phase === 'running') await this.#restore();
    })();
    this.#reads.set(cluster, slot);
    return slot.done;
  }

  /** After an updater's conflict: wait for the change that beat it (it is on its way), else read. */
  async #catchUp(version: number): Promise<void> {
    if (this.#state.version >= version) return;
    await this.#whenVersion(version, OWN_CHANGE_WAIT_MS);
    if (this.#state.version < version) await this.#read(this.#state.cluster);
  }

  /** This node's own write, committed: installed from the answer; resolves once it holds it. */
  async #ownChange(change: DataChange): Promise<void> {
    this.#step({ kind: 'committed', change });
    if (this.#state.version >= change.version) return;
    await this.#whenVersion(change.version, this.#o.rpcTimeoutMs);
    if (this.#state.version < change.version) await this.#read(this.#state.cluster);
  }

  #whenVersion(atLeast: number, waitMs: number): Promise<number> {
    if (this.#state.version >= atLeast || waitMs <= 0 || this.#phase === 'stopped') return Promise.resolve(this.#state.version);
    return new Promise((resolve) => {
      const waiter = {
        atLeast,
        done: () => {
          clearTimeout(timer);
          this.#versionWaiters.delete(waiter);
          resolve(this.#state.version);
        },
      };
      const timer = setTimeout(waiter.done, waitMs);
      timer.unref();
      this.#versionWaiters.add(waiter);
    });
  }

  // ---- membership -----------------------------------------------------

  /** Commits a change of members, leader or settings computed from the current state; retried on a conflict. */
  async #commitMeta(
    compute: (s: State<T>) => { nodes?: readonly string[]; leader?: string; fanout?: number; gossipIntervalMs?: number; why: string; tell?: readonly string[]; evicted?: string; minVersion?: number },
  ): Promise<void> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const s = this.#state;
      const c = compute(s);
      const reply = await this.#store.meta(s, s.hash, {
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
        await this.#read(s.cluster);
        return;
      }
      if (reply.kind === 'missing') await this.#restore();
      else await this.#read(s.cluster);
    }
    throw new GossipError('write_failed', 'the cluster change kept conflicting with other changes');
  }

  /** `absorbed` joins `target`; true when done (false: one side moved on, look again). */
  async #merge(target: State<T>, absorbed: State<unknown>): Promise<boolean> {
    const nodes = union(target.nodes, absorbed.nodes);
    const reply = await this.#store.merge(target, absorbed, nodes, target.leader);
    if (reply.kind !== 'ok') {
      if (absorbed.cluster === this.#state.cluster || target.cluster === this.#state.cluster) await this.#read(this.#state.cluster).catch(() => undefined);
      return false;
    }
    this.#o.logger.info(`simple-gossip: ${this.id}: cluster ${absorbed.cluster} joined ${target.cluster} (${nodes.length} members)`);
    await this.#read(target.cluster);
    return true;
  }

  /**
   * This node's cluster no longer lists it (it left, was removed, or was
   * evicted while cut off): it goes on alone with its data, in a cluster of
   * its own at a higher version; with join 'auto', discovery takes it back.
   */
  #removed(): Promise<void> {
    this.#rehoming ??= (async () => {
      this.#o.logger.info(`simple-gossip: ${this.id} is no longer a member of ${this.#state.cluster}; it goes on alone with its data`);
      await this.#startCluster(this.#state.data, this.#book, this.#state.version);
      if (this.#o.join === 'auto' && !this.#paused) await this.#discover();
    })().finally(() => (this.#rehoming = undefined));
    return this.#rehoming;
  }

  /** A write found this node no longer a member: reading its cluster settles where it belongs. */
  #rehome(): Promise<void> {
    return this.#read(this.#state.cluster);
  }

  // ---- housekeeping ---------------------------------------------------

  /** Joins the best live cluster of the namespace, if it is not this node's own (join 'auto'). */
  async #discover(): Promise<void> {
    if (this.#paused) return;
    const entries = await this.#store.registry();
    const target = pickCluster(entries, this.#state.cluster, this.#clock.now());
    if (target === undefined) return;
    const theirs = await this.#store.read<unknown>(target);
    if (!theirs) return;
    await this.#merge(theirs.state as State<T>, this.#state);
  }

  /** Redis lost the cluster's state: the restore lock's holder writes back the newest a live member holds. */
  #restore(): Promise<void> {
    this.#restoring ??= this.#doRestore().finally(() => (this.#restoring = undefined));
    return this.#restoring;
  }

  async #doRestore(): Promise<void> {
    const cluster = this.#state.cluster;
    if (await this.#store.exists(cluster)) return;
    if (await this.#store.lockRestore(cluster, RESTORE_LOCK_MS)) {
      this.#o.logger.info(`simple-gossip: ${this.id} restores cluster ${cluster}, which Redis lost`);
      const others = this.#state.nodes.filter((n) => n !== this.id);
      const heads = await Promise.all(others.map((n) => this.#messages.request(n, 'headreq', {}, Math.min(this.#o.rpcTimeoutMs, 1_000)).catch(() => undefined)));
      let best: { id: string; version: number } = { id: this.id, version: this.#state.version };
      heads.forEach((h, i) => {
        if (isHead(h) && h.cluster === cluster && h.version > best.version) best = { id: others[i]!, version: h.version };
      });
      if (best.id !== this.id) {
        const done = await this.#messages.request(best.id, 'restore', {}, this.#o.rpcTimeoutMs).then(() => true, () => false);
        if (done && (await this.#store.exists(cluster))) return;
      }
      await this.#store.put('restore', { state: this.#state, book: this.#book });
      return;
    }
    // Another member restores: wait for it (bounded), then go on.
    const deadline = Date.now() + RESTORE_LOCK_MS;
    while (Date.now() < deadline && !(await this.#store.exists(cluster))) await new Promise((r) => setTimeout(r, 20).unref());
  }

  /** The anti-entropy tick: a self-rescheduling, unref'd timer. */
  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#phase !== 'running') return;
    const delay = this.#state.gossipIntervalMs + Math.random() * GOSSIP_JITTER_MS;
    this.#timer = setTimeout(() => {
      this.#tick().finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }

  /** One tick: heads to `fanout` random members, the state compared with Redis's, housekeeping. */
  async #tick(): Promise<void> {
    if (this.#phase !== 'running') return;
    this.#metrics.count('antiEntropyRounds');
    const others = this.#state.nodes.filter((n) => n !== this.id);
    for (const peer of pickRandom(others, this.#state.fanout)) this.#sendHead(peer);
    try {
      await this.#againstRedis();
      if (this.#state.leader === this.id) await this.#evict();
      if (this.#o.join === 'auto') await this.#discover();
    } catch (err) {
      // A state in Redis that is not valid has no caller to tell: report it (the node keeps its own).
      if (err instanceof PersistenceError) this.#report(err);
      else if (this.#phase === 'running') this.#o.logger.debug('simple-gossip: tick failed', err);
    }
  }

  async #againstRedis(): Promise<void> {
    const s = this.#state;
    const sentAt = Date.now();
    const reply = await this.#store.tick(s);
    this.#clock.observe(reply.now, sentAt);
    if (this.#state !== s) return;
    const verdict = judgeTick({ ...headOf(s), self: this.id, gossipIntervalMs: s.gossipIntervalMs }, reply);
    switch (verdict.kind) {
      case 'fine':
        this.#synced = true;
        return;
      case 'restore':
        await this.#restore();
        return;
      case 'read':
        await this.#read(s.cluster);
        this.#synced = true;
        return;
      case 'evicted':
        await this.#rehome();
        return;
      case 'lost':
        this.#report(new GossipError('lost_commits', `Redis no longer holds versions ${verdict.from}–${verdict.to} of cluster ${s.cluster} (a failover?); the cluster goes on from Redis's state`));
        await this.#commitMeta(() => ({ why: 'lost commits', minVersion: verdict.to + 1 }));
        return;
      case 'replace_leader':
        await this.#commitMeta((cur) => (cur.leader === verdict.leader ? { leader: chooseLeader(cur.nodes, verdict.leader, new Set(), this.id), why: `leader ${verdict.leader} gone` } : { why: 'leader check' }));
        return;
    }
  }

  /** On the leader: members silent for evictAfterMs are removed (their node keys deleted). */
  async #evict(): Promise<void> {
    const o = this.#o;
    if (o.evictAfterMs <= 0) return;
    const s = this.#state;
    const seen = await this.#store.seen(s.nodes);
    const threshold = Math.max(o.evictAfterMs, 2 * s.gossipIntervalMs + GOSSIP_JITTER_MS);
    for (const id of dueForEviction(seen, this.id, this.#clock.now(), threshold)) {
      // No node key at all (Redis restarted, say): evicted only if nobody listens for it either.
      if (seen.find((m) => m.id === id)?.seen === 0 && (await this.#conn.listeners(this.#keys.node(id))) > 0) continue;
      o.logger.warn(`simple-gossip: evicting ${id}: silent for more than ${threshold} ms`);
      await this.#commitMeta((cur) => ({ ...without(cur.nodes, cur.leader, id, this.id), why: `evict ${id}`, tell: [id], evicted: id }));
    }
  }

  #sendHead(to: string): void {
    this.#messages.send(to, 'head', headOf(this.#state)).catch(() => this.#metrics.count('headsFailed'));
  }

  /** After Redis comes back: changes were missed, the state may be gone. */
  #onReconnect(): void {
    if (this.#phase !== 'running') return;
    this.#synced = false;
    this.#report(new GossipError('reconnected', `${this.id}'s Redis connection dropped (a network fault, or Redis closed it for its output buffer); it catches up from Redis`));
    this.#tick().catch(() => undefined);
  }

  #awaitVersion(version: number, options: SetSyncOptions): Promise<void> {
    return awaitVersion(
      {
        nodes: () => this.nodes,
        version: (node, atLeast, holdMs) =>
          node === this.id ? this.#whenVersion(atLeast, holdMs) : this.#messages.version(node, holdMs + this.#o.statusTimeoutMs, { atLeast, waitMs: holdMs }),
      },
      version,
      options,
    );
  }

  #report(err: unknown): void {
    this.#events.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  #assertRunning(): void {
    if (this.#phase !== 'running') throw new StoppedError();
  }
}

/** The state, frozen; of config data, only the values that are new (those kept from `before` are frozen already). */
function freezeState<T>(s: State<T>, before?: T): State<T> {
  let data = s.data;
  if (data !== before && isRecord(data) && isRecord(before)) {
    for (const [k, v] of Object.entries(data)) if (v !== before[k]) deepFreeze(v);
    Object.freeze(data);
  } else if (data !== before) {
    data = deepFreeze(data);
  }
  return Object.freeze({ ...s, data, nodes: Object.freeze([...s.nodes]) });
}

/** A state read whole, with the frozen values of the data it holds already kept (get() keeps returning the same objects). */
function reuseFrozen<T>(before: T | undefined, next: State<T>): State<T> {
  if (isDeepStrictEqual(before, next.data)) return { ...next, data: before };
  if (!isRecord(before) || !isRecord(next.data)) return next;
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(next.data)) data[k] = Object.hasOwn(before, k) && isDeepStrictEqual(before[k], v) ? before[k] : v;
  return { ...next, data: data as T };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function pickRandom<X>(xs: readonly X[], k: number): X[] {
  const copy = [...xs];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}
