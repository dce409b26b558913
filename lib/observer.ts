import { randomBytes } from 'node:crypto';
import { Codec, isRumor } from './codec.js';
import type { WriteOp } from './codec.js';
import { MAX_ROUTE_ATTEMPTS } from './constants.js';
import { NoLeaderError, NoListenerError, RequestTimeoutError } from './errors.js';
import { chooseLeader } from './model/leader.js';
import { Metrics } from './metrics.js';
import type { Rumor } from './model/rumor.js';
import type { WriteReply } from './node/leader.js';
import { resolveOptions } from './options.js';
import type { GossipOptions, ResolvedOptions } from './options.js';
import { Signer } from './signing.js';
import { Connection } from './transport/connection.js';
import { Keys } from './transport/keys.js';
import { Wire } from './transport/wire.js';

/** Options of {@link Observer.connect}: those of {@link GossipOptions} that matter to a client that is not a member. */
export type ObserverOptions = Pick<GossipOptions, 'redis' | 'namespace' | 'rpcTimeoutMs' | 'statusTimeoutMs' | 'secret' | 'maxMessageBytes' | 'logger'> & {
  /** This client's id (its channel is `<namespace>:observer:<id>`). @default a random one */
  readonly id?: string;
  /** How long `connect` waits for Redis before it rejects with the connection error. @default 5000 */
  readonly connectTimeoutMs?: number;
};

/** One member as an observer sees it. */
export interface MemberView {
  /** The member's id. */
  readonly nodeId: string;
  /** Whether some client listens on its channel. */
  readonly listening: boolean;
  /** The version it answered, or undefined when it did not answer in time. */
  readonly version: number | undefined;
  /** Whether it leads the cluster. */
  readonly leader: boolean;
}

/**
 * A client that talks to a running cluster without joining it — for the
 * CLI, probes and dashboards. It listens on `<namespace>:observer:<id>`, so
 * nothing mistakes it for a member; it reads by asking members, and writes
 * through the leader like any node.
 */
export class Observer {
  readonly #o: ResolvedOptions;
  readonly #keys: Keys;
  readonly #conn: Connection;
  readonly #wire: Wire;
  /** This observer's id (random unless given). */
  readonly id: string;

  private constructor(options: ObserverOptions) {
    this.id = options.id ?? `observer-${randomBytes(4).toString('hex')}`;
    this.#o = resolveOptions({ ...options, nodeId: this.id });
    this.#keys = new Keys(this.#o.namespace);
    this.#conn = Connection.open(this.#o.redis, {
      onMessage: (c, m) => this.#wire.receive(c, m),
      onReconnect: () => undefined,
      onError: (err) => this.#o.logger.debug('simple-gossip observer: redis', err.message),
    });
    this.#wire = new Wire({
      self: this.id,
      observer: true,
      namespace: this.#o.namespace,
      codec: new Codec({
        namespace: this.#o.namespace,
        maxMessageBytes: this.#o.maxMessageBytes,
        signer: this.#o.secret === undefined ? undefined : new Signer(this.#o.secret),
      }),
      conn: this.#conn,
      keys: this.#keys,
      metrics: new Metrics(),
      onEnvelope: () => undefined,
      onDrop: (err) => this.#o.logger.debug('simple-gossip observer: dropped', err.message),
    });
  }

  /** Connects and subscribes to this observer's channel; rejects if Redis cannot be reached in time. */
  static async connect(options: ObserverOptions = {}): Promise<Observer> {
    const observer = new Observer(options);
    try {
      await observer.#conn.ready(options.connectTimeoutMs ?? 5_000);
      await observer.#conn.subscribe(observer.#wire.channel);
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

  /** The ids of every member channel that has a listener now. */
  async live(): Promise<string[]> {
    const channels = await this.#conn.channels(this.#keys.nodePattern);
    return channels.map((c) => this.#keys.nodeOf(c)).filter((id): id is string => id !== undefined).sort();
  }

  /** The newest rumor among the live members (undefined when no member answers). */
  async rumor(): Promise<Rumor | undefined> {
    const live = await this.live();
    const answers = await Promise.allSettled(live.map((id) => this.#wire.request(id, 'pull', {}, this.#o.rpcTimeoutMs)));
    let best: Rumor | undefined;
    for (const a of answers) {
      if (a.status === 'fulfilled' && isRumor(a.value) && (!best || a.value.version > best.version)) best = a.value;
    }
    return best;
  }

  /** Every member of the newest rumor, with whether it listens and the version it answers. */
  async members(): Promise<{ rumor: Rumor | undefined; members: MemberView[] }> {
    const rumor = await this.rumor();
    if (!rumor) return { rumor, members: [] };
    const nodes = [...rumor.nodes];
    const [counts, versions] = await Promise.all([
      this.#conn.listenersOf(nodes.map((n) => this.#keys.node(n))),
      this.#wire.versions(nodes, this.#o.statusTimeoutMs),
    ]);
    return {
      rumor,
      members: nodes.map((nodeId, i) => ({ nodeId, listening: (counts[i] ?? 0) > 0, version: versions[i], leader: nodeId === rumor.leader })),
    };
  }

  /**
   * Writes through the leader, following redirects; a leader nobody listens
   * for (or that does not answer) is passed over for the next one chosen the
   * way the members choose, which then takes over. Resolves to the rumor
   * that holds the write.
   */
  async write(op: Extract<WriteOp, { kind: 'set' | 'cfg' }>): Promise<Rumor> {
    const rumor = await this.rumor();
    if (!rumor) throw new NoLeaderError(`no member of namespace "${this.namespace}" answers`);
    const down = new Set<string>();
    let target = rumor.leader;
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ROUTE_ATTEMPTS; attempt++) {
      if (down.has(target)) target = chooseLeader(rumor.nodes, target, down, rumor.nodes.find((n) => !down.has(n)) ?? target);
      let reply: WriteReply;
      try {
        reply = (await this.#wire.request(target, 'write', { op }, this.#o.rpcTimeoutMs + this.#o.leaseMs)) as WriteReply;
      } catch (err) {
        if (!(err instanceof NoListenerError || err instanceof RequestTimeoutError)) throw err;
        down.add(target);
        lastError = err;
        continue;
      }
      if (reply.status === 'ok') return reply.rumor;
      if (reply.status === 'redirect') target = reply.leader;
    }
    throw new NoLeaderError(`no leader of namespace "${this.namespace}" took the write`, { cause: lastError });
  }

  /**
   * Calls `onChange` with each newer rumor, polling the live members' versions
   * every `intervalMs` (an observer gets no pushes); returns its stop function.
   */
  watch(onChange: (rumor: Rumor) => void, intervalMs = 250): () => void {
    let last = 0;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const live = await this.live();
        const versions = await this.#wire.versions(live, this.#o.statusTimeoutMs);
        if (versions.some((v) => v !== undefined && v !== last)) {
          const rumor = await this.rumor();
          if (rumor && rumor.version !== last) {
            last = rumor.version;
            onChange(rumor);
          }
        }
      } catch (err) {
        this.#o.logger.debug('simple-gossip observer: poll failed', err);
      }
      if (!stopped) timer = setTimeout(() => void poll(), intervalMs);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  /** Closes its connections. */
  async close(): Promise<void> {
    this.#wire.close();
    await this.#conn.close();
  }
}
