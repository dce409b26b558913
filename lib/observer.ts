import { randomBytes } from 'node:crypto';
import { REPLAY_WINDOW_MS } from './constants.js';
import { GossipError } from './errors.js';
import { Metrics } from './metrics.js';
import { isLive, ranksBefore } from './model/housekeeping.js';
import type { ClusterEntry } from './model/housekeeping.js';
import type { State } from './model/state.js';
import { Store } from './node/store.js';
import { Writer } from './node/writes.js';
import { resolveOptions } from './options.js';
import type { GossipOptions, ResolvedOptions } from './options.js';
import { Signer } from './signing.js';
import { RedisClock } from './transport/clock.js';
import { Connection } from './transport/connection.js';
import { isHead } from './transport/envelope.js';
import { Keys } from './transport/keys.js';
import { Messages } from './transport/messages.js';

/** Options of {@link Observer.connect}: those of {@link GossipOptions} that matter to a client that is not a member. */
export type ObserverOptions = Pick<GossipOptions, 'redis' | 'namespace' | 'rpcTimeoutMs' | 'statusTimeoutMs' | 'secret' | 'maxMessageBytes' | 'logger' | 'connectTimeoutMs' | 'signal'> & {
  /** This client's id (its channel is `{<namespace>}:observer:<id>`). @default a random one */
  readonly id?: string;
};

/** One member as an observer sees it. */
export interface MemberView {
  readonly nodeId: string;
  /** Whether some client listens on its channel. */
  readonly listening: boolean;
  /** The version it answered, or undefined when it did not answer in time. */
  readonly version: number | undefined;
  readonly leader: boolean;
}

/** A write an observer makes: the whole value, or config keys. */
export type ObserverWrite =
  { readonly kind: 'set'; readonly data: unknown } | { readonly kind: 'cfg'; readonly key: string; readonly value: unknown } | { readonly kind: 'delete'; readonly key: string };

/**
 * A client that talks to a running cluster without joining it — for an
 * admin tool, a probe, a dashboard, or the CLI (which is one). It reads the
 * state of the namespace's main cluster from Redis, asks the members for
 * their versions, and commits writes with the same script a member uses, so
 * every member is sent the change and no leader is in the way. It is never
 * a member: it listens on `{<namespace>}:observer:<id>`, is never listed in
 * `nodes`, and takes no part in the housekeeping.
 *
 * `secret`: give it the cluster's when the members use one. Reading the state
 * works without it, but the members drop its unsigned requests (so
 * {@link Observer.members} shows no versions) and {@link Observer.write}
 * rejects with code `'secret_required'` before it commits anything.
 *
 * @example
 * ```ts
 * const admin = await Observer.connect({ redis: 'redis://127.0.0.1:6379', namespace: 'flags' });
 * const state = await admin.rumor();                                   // version, leader, nodes, data
 * await admin.write({ kind: 'cfg', key: 'newCheckout', value: true }); // as a member's setCfg
 * await admin.close();
 * ```
 */
export class Observer {
  readonly #o: ResolvedOptions;
  readonly #keys: Keys;
  readonly #conn: Connection;
  readonly #clock = new RedisClock();
  readonly #messages: Messages;
  readonly #store: Store;
  /** The stop functions of its running watches, called by close(). */
  readonly #watches = new Set<() => void>();
  /** This observer's id (random unless given). */
  readonly id: string;

  private constructor(options: ObserverOptions) {
    this.id = options.id ?? `observer-${randomBytes(4).toString('hex')}`;
    this.#o = resolveOptions({ ...options, nodeId: this.id });
    this.#keys = new Keys(this.#o.namespace, true);
    const signer = this.#o.secret === undefined ? undefined : new Signer(this.#o.secret);
    this.#conn = Connection.open(this.#o.redis, {
      onMessage: (c, m) => this.#messages.receive(c, m),
      onReconnect: () => undefined,
      onError: (err) => this.#o.logger.debug('simple-gossip observer: redis', err.message),
    });
    this.#messages = new Messages({
      self: this.id,
      observer: true,
      namespace: this.#o.namespace,
      maxMessageBytes: this.#o.maxMessageBytes,
      signer,
      conn: this.#conn,
      keys: this.#keys,
      clock: this.#clock,
      metrics: new Metrics(),
      onChange: () => undefined,
      onEnvelope: () => undefined,
      onDrop: (err) => this.#o.logger.debug('simple-gossip observer: dropped', err.message),
    });
    this.#store = new Store({
      self: this.id,
      observer: true,
      namespace: this.#o.namespace,
      conn: this.#conn,
      keys: this.#keys,
      signer,
      nodeKeyTtlMs: this.#o.nodeKeyTtlMs,
      replayWindowMs: REPLAY_WINDOW_MS,
    });
  }

  /**
   * Connects and subscribes to this observer's channel; rejects, naming the
   * address, if Redis cannot be reached within `connectTimeoutMs` or before
   * `signal` aborts. Call {@link Observer.close} when done.
   */
  static async connect(options: ObserverOptions = {}): Promise<Observer> {
    const observer = new Observer(options);
    try {
      await observer.#conn.ready(observer.#o.connectTimeoutMs, observer.#o.signal);
      const sentAt = Date.now();
      observer.#clock.observe(await observer.#store.time(), sentAt);
      await observer.#conn.subscribe(observer.#messages.channel);
      return observer;
    } catch (err) {
      await observer.close();
      throw err;
    }
  }

  /** The namespace it observes. */
  get namespace(): string {
    return this.#o.namespace;
  }

  /** The ids of every node channel of the namespace that has a listener now, sorted: the running nodes, of any cluster. */
  async live(): Promise<string[]> {
    const channels = await this.#conn.channels(this.#keys.nodePattern);
    return channels
      .map((c) => this.#keys.nodeOf(c))
      .filter((id): id is string => id !== undefined)
      .sort();
  }

  /**
   * The state of the namespace's main cluster (the live one discovery would
   * join: the largest, then the oldest), read from Redis; undefined when
   * there is none.
   */
  async rumor(): Promise<State | undefined> {
    const now = this.#clock.now();
    const entries = await this.#store.registry();
    const ranked = [...entries.filter((e) => isLive(e, now)), ...entries.filter((e) => !isLive(e, now))];
    let best: ClusterEntry | undefined;
    for (const e of ranked) if (best === undefined || (isLive(e, now) === isLive(best, now) && ranksBefore(e, best))) best = e;
    if (best) {
      const stored = await this.#store.read(best.id);
      if (stored) return stored.state;
    }
    // No registry (Redis lost it, say): ask a live member where its cluster is.
    for (const id of await this.live()) {
      // A member that does not answer (stopping, say) is skipped: the next one may.
      const head = await this.#messages.request(id, 'headreq', {}, this.#o.rpcTimeoutMs).catch(() => undefined);
      if (!isHead(head)) continue;
      const stored = await this.#store.read(head.cluster);
      if (stored) return stored.state;
    }
    return undefined;
  }

  /**
   * Every member of the main cluster (see {@link Observer.rumor}), with
   * whether it listens and the version it answers within `statusTimeoutMs`
   * (undefined when it does not); no members when there is no cluster.
   */
  async members(): Promise<{ rumor: State | undefined; members: MemberView[] }> {
    const rumor = await this.rumor();
    if (!rumor) return { rumor, members: [] };
    const nodes = [...rumor.nodes];
    const [counts, versions] = await Promise.all([this.#conn.listenersOf(nodes.map((n) => this.#keys.node(n))), Promise.all(nodes.map((n) => this.#messages.version(n, this.#o.statusTimeoutMs)))]);
    return {
      rumor,
      members: nodes.map((nodeId, i) => ({ nodeId, listening: (counts[i] ?? 0) > 0, version: versions[i], leader: nodeId === rumor.leader })),
    };
  }

  /**
   * Commits a write to the main cluster, as a member would (`set`, `setCfg`
   * or `deleteCfg`), and publishes it to every member; resolves to the state
   * that holds it. Rejects with code `'no_cluster'` when the namespace has no
   * cluster, and `'secret_required'` when the cluster signs its values and
   * this observer has no secret.
   */
  async write(op: ObserverWrite): Promise<State> {
    let state = await this.rumor();
    if (!state) throw new GossipError('no_cluster', `namespace "${this.namespace}" has no cluster`);
    if (this.#o.secret === undefined && (await this.#signed(state.cluster))) {
      // Its unsigned values would be refused by every member, and make the state unreadable for them.
      throw new GossipError('secret_required', `the cluster of namespace "${this.namespace}" signs its values: give the observer its secret`);
    }
    const writer = new Writer<unknown>({
      store: this.#store,
      clock: this.#clock,
      signer: this.#o.secret === undefined ? undefined : new Signer(this.#o.secret),
      maxMessageBytes: this.#o.maxMessageBytes,
      metrics: new Metrics(),
      retryForMs: Math.max(this.#o.rpcTimeoutMs * 3, 5_000),
      state: () => state!,
      committed: () => Promise.resolve(),
      catchUp: async () => {
        state = (await this.rumor()) ?? state;
      },
      restore: () => Promise.reject(new GossipError('no_cluster', `the cluster's state is gone from Redis; a member restores it`)),
      rehome: () => Promise.resolve(),
      assertRunning: () => undefined,
    });
    if (op.kind === 'set') await writer.write({ op: 'set', value: op.data });
    else if (op.kind === 'cfg') await writer.write({ op: 'patch', set: new Map([[op.key, op.value]]), del: [] });
    else await writer.write({ op: 'patch', set: new Map(), del: [op.key] });
    return (await this.#store.read(state.cluster))?.state ?? state;
  }

  /** Whether the values stored in `cluster`'s state carry signatures. */
  async #signed(cluster: string): Promise<boolean> {
    const stored = await this.#store.read(cluster);
    return stored !== undefined && [...stored.book.entries.values()].some((e) => e.sig !== '');
  }

  /**
   * Calls `onChange` with the main cluster's state now, then with each newer
   * one, polling Redis every `intervalMs` (an observer is sent no changes, so
   * changes closer together than that can arrive as one); returns its stop
   * function ({@link Observer.close} stops it too). A poll that fails is
   * logged at debug level and retried.
   */
  watch(onChange: (state: State) => void, intervalMs = 250): () => void {
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const state = await this.rumor();
        const mark = state ? `${state.cluster}/${state.version}` : '';
        if (state && mark !== last) {
          last = mark;
          onChange(state);
        }
      } catch (err) {
        this.#o.logger.debug('simple-gossip observer: poll failed', err);
      }
      if (!stopped) timer = setTimeout(() => void poll(), intervalMs); // as below: poll() never rejects
    };
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      this.#watches.delete(stop);
    };
    this.#watches.add(stop);
    // poll() catches and logs its own failures, so the promise never rejects.
    void poll();
    return stop;
  }

  /** Stops its watches, unsubscribes and closes its Redis connections. */
  async close(): Promise<void> {
    for (const stop of [...this.#watches]) stop();
    this.#messages.close();
    await this.#conn.close();
  }
}
