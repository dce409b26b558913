import type { AnyEnvelope, Bodies, Codec, Envelope, MessageType } from '../codec.js';
import { PROTOCOL_VERSION, REPLAY_WINDOW_MS } from '../constants.js';
import { BadMessageError, CouldNotConnectError, GossipError, NoListenerError, RequestTimeoutError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Rumor } from '../model/rumor.js';
import type { Connection } from './connection.js';
import type { Keys } from './keys.js';
import { ReplayGuard } from './replay.js';
import { Requests } from './requests.js';

/** One encoded message and the channels it goes to, for a caller that publishes it another way (a leader's commit script). */
export interface Post {
  readonly type: MessageType;
  readonly text: string;
  readonly channels: readonly string[];
}

/** What a request's handler returns when it has sent its answer itself (see {@link Wire.replyPost}). */
export const ANSWERED: unique symbol = Symbol('answered');

/** Message types that ask for an answer, and so carry a correlation id. */
const REQUESTS: ReadonlySet<MessageType> = new Set<MessageType>(['pull', 'vsn', 'write', 'join']);

export interface WireOptions {
  /** This client's id, and whether it is an observer (CLI, probe) rather than a member. */
  readonly self: string;
  readonly observer?: boolean;
  readonly namespace: string;
  readonly codec: Codec;
  readonly conn: Connection;
  readonly keys: Keys;
  readonly metrics: Metrics;
  /** Every valid message that is not a reply. */
  readonly onEnvelope: (env: Exclude<AnyEnvelope, Envelope<'reply'>>) => void;
  /** A message that was dropped and should be reported (rate-limited by the metrics). */
  readonly onDrop: (err: BadMessageError) => void;
}

/**
 * Messages on Redis pub/sub, both ways: envelopes out to a node's channel,
 * frames in through the codec (bad ones dropped and counted, replayed
 * requests refused), replies matched to their requests here.
 */
export class Wire {
  readonly #o: WireOptions;
  readonly #requests = new Requests();
  readonly #replays = new ReplayGuard(REPLAY_WINDOW_MS);
  #closed = false;

  constructor(options: WireOptions) {
    this.#o = options;
  }

  /** The channel this client listens on. */
  get channel(): string {
    return this.#o.observer ? this.#o.keys.observer(this.#o.self) : this.#o.keys.node(this.#o.self);
  }

  receive(channel: string, raw: string): void {
    if (this.#closed) return;
    let env: AnyEnvelope;
    try {
      env = this.#o.codec.decode(raw);
      if (env.to !== undefined && env.to !== this.#o.self) {
        throw new BadMessageError('wrong_addressee', `a ${env.type} for ${env.to} arrived on the channel of ${this.#o.self}`, channel);
      }
      if (REQUESTS.has(env.type) && !this.#replays.accept(env.from, env.cid!, env.ts)) {
        throw new BadMessageError('replay', `replayed or stale ${env.type} request from ${env.from}`, channel);
      }
    } catch (err) {
      const bad = err instanceof BadMessageError ? err : new BadMessageError('bad_shape', String(err), channel);
      if (this.#o.metrics.drop(bad.reason, Date.now())) this.#o.onDrop(bad);
      return;
    }
    this.#o.metrics.received(env.type, raw.length);
    if (env.type === 'reply') {
      const body = env.body;
      if (body.ok) this.#requests.resolve(env.re!, body.value);
      else this.#requests.reject(env.re!, remoteError(body.code, body.message, env.from));
      return;
    }
    this.#o.onEnvelope(env);
  }

  /** Publishes an envelope to a member's channel; resolves to how many listeners got it. */
  send<K extends MessageType>(to: string, type: K, body: Bodies[K], extra: Partial<Envelope<K>> = {}, channel = this.#o.keys.node(to)): Promise<number> {
    const text = this.#encode(type, body, { to, ...extra });
    this.#o.metrics.sent(type, text.length);
    return this.#o.conn.publish(channel, text);
  }

  #encode<K extends MessageType>(type: K, body: Bodies[K], extra: Partial<Envelope<K>>): string {
    const envelope = { v: PROTOCOL_VERSION, ns: this.#o.namespace, type, from: this.#o.self, ts: Date.now(), body, ...extra };
    if (this.#o.observer) Object.assign(envelope, { observer: true });
    return this.#o.codec.encode(envelope as AnyEnvelope);
  }

  /** One request/response: rejects at once with {@link NoListenerError} when nobody listens. */
  request<K extends MessageType>(to: string, type: K, body: Bodies[K], timeoutMs: number): Promise<unknown> {
    const done = this.#o.metrics.rpc(type);
    const answer = this.#requests.request(to, type, timeoutMs, async (cid) => {
      const got = await this.send(to, type, body, { cid } as Partial<Envelope<K>>);
      if (got === 0) throw new NoListenerError(to);
    });
    answer.then(
      () => done('answered'),
      (err: unknown) => done(err instanceof NoListenerError ? 'noListener' : err instanceof RequestTimeoutError ? 'timeouts' : err instanceof GossipError && err.code !== 'stopped' ? 'answered' : 'other'),
    );
    return answer;
  }

  /**
   * Runs a request's handler and sends its answer, or its error, back to the
   * sender — unless the handler answers {@link ANSWERED}: it sent the answer itself.
   */
  answer(env: AnyEnvelope, serve: () => unknown): void {
    const reply = async (): Promise<Bodies['reply'] | undefined> => {
      try {
        const value = await serve();
        return value === ANSWERED ? undefined : { ok: true, value };
      } catch (err) {
        const e = err as Partial<GossipError>;
        const code = typeof e.code === 'string' ? e.code : err instanceof TypeError ? 'type_error' : 'error';
        return { ok: false, code, message: String(e.message ?? err) };
      }
    };
    void reply().then((body) => {
      if (this.#closed || body === undefined) return;
      this.send(env.from, 'reply', body, { re: env.cid }, this.#o.keys.replyTo(env.from, env.observer)).catch(() => undefined);
    });
  }

  /** The answer to request `env`, encoded, for a caller that publishes it itself. */
  replyPost(env: AnyEnvelope, value: unknown): Post {
    const text = this.#encode('reply', { ok: true, value }, { to: env.from, re: env.cid });
    return { type: 'reply', text, channels: [this.#o.keys.replyTo(env.from, env.observer)] };
  }

  /**
   * A push of `rumor` to each of `targets`, encoded once. `star`: the root
   * sends it to every member itself, so nobody passes it on.
   */
  pushPost(rumor: Rumor<unknown>, targets: readonly string[], root?: string, star = false): Post {
    const body: Bodies['push'] = { rumor, ...(root === undefined ? {} : { root }), ...(star ? { star } : {}) };
    return { type: 'push', text: this.#encode('push', body, {}), channels: targets.map((to) => this.#o.keys.node(to)) };
  }

  /** Counts what another way published (a leader's commit script). */
  published(posts: readonly Post[]): void {
    for (const p of posts) {
      for (const _ of p.channels) {
        if (p.type === 'push') this.#o.metrics.count('pushes');
        this.#o.metrics.sent(p.type, p.text.length);
      }
    }
  }

  /**
   * Sends `rumor` to each of `targets` (encoded once, and in one command
   * where Redis can fan out); resolves to the targets nobody listened for.
   */
  async push(rumor: Rumor<unknown>, targets: readonly string[], root?: string, star = false): Promise<string[]> {
    if (targets.length === 0) return [];
    const post = this.pushPost(rumor, targets, root, star);
    this.published([post]);
    const counts = await this.#o.conn.publishMany(post.text, post.channels).catch(() => []);
    return targets.filter((_, i) => counts[i] === 0);
  }

  /** Exactly whether some client listens on `id`'s node channel (PUBSUB NUMSUB, patterns not counted). */
  async listening(id: string): Promise<boolean> {
    return (await this.#o.conn.listeners(this.#o.keys.node(id))) > 0;
  }

  /** Each node's version, or undefined where it did not answer within `timeoutMs`. */
  versions(nodes: readonly string[], timeoutMs: number, own?: number): Promise<Array<number | undefined>> {
    return Promise.all(nodes.map((n) => (n === this.#o.self && own !== undefined ? own : this.version(n, timeoutMs))));
  }

  /** `node`'s version (held until it has `body.atLeast`, if given), or undefined where it did not answer within `timeoutMs`. */
  async version(node: string, timeoutMs: number, body: Bodies['vsn'] = {}): Promise<number | undefined> {
    try {
      const v = await this.request(node, 'vsn', body, timeoutMs);
      return typeof v === 'number' ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** Rejects every pending request and ignores whatever arrives later. */
  close(err?: Error): void {
    this.#closed = true;
    this.#requests.close(err);
  }
}

/** The error a remote node answered, as the class it was there where that matters to callers. */
function remoteError(code: string, message: string, from: string): Error {
  if (code === 'could_not_connect_to_node') return new CouldNotConnectError(/node "(.*)"/.exec(message)?.[1] ?? from);
  if (code === 'type_error') return new TypeError(message);
  return new GossipError(code, message);
}
