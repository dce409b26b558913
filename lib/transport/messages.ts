/**
 * Messages on Redis pub/sub, both ways, for the v2 protocol: change frames
 * (published by the scripts) and envelopes (heads, requests, replies) in,
 * each decoded inside its own try/catch (a bad one is dropped, counted and
 * reported, never thrown); envelopes out; replies matched to their requests
 * here, outside the node's inbox.
 */
import { ACK_WAIT_MS, PROTOCOL_VERSION, REPLAY_WINDOW_MS } from '../constants.js';
import { BadMessageError, GossipError, NoListenerError, RequestTimeoutError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { Acks } from './acks.js';
import type { RedisClock } from './clock.js';
import type { Connection } from './connection.js';
import { decodeEnvelope, encodeEnvelope, isRequest } from './envelope.js';
import type { AnyEnvelope, Bodies, EnvelopeOptions, Envelope, MessageType } from './envelope.js';
import { decodeChange } from './frames.js';
import type { ChangeFrame } from './frames.js';
import type { Keys } from './keys.js';
import { ReplayGuard } from './replay.js';
import { Requests } from './requests.js';

export interface MessagesOptions extends EnvelopeOptions {
  readonly self: string;
  readonly observer?: boolean;
  readonly conn: Connection;
  readonly keys: Keys;
  readonly clock: RedisClock;
  readonly metrics: Metrics;
  readonly onChange: (frame: ChangeFrame, bytes: number) => void;
  /** Every valid envelope that is not a reply or an ack. */
  readonly onEnvelope: (env: Exclude<AnyEnvelope, Envelope<'reply'> | Envelope<'ack'>>) => void;
  /** A dropped message worth reporting (rate-limited by the metrics). */
  readonly onDrop: (err: BadMessageError) => void;
}

export class Messages {
  readonly #o: MessagesOptions;
  readonly #requests = new Requests();
  readonly #acks = new Acks();
  readonly #replays = new ReplayGuard(REPLAY_WINDOW_MS);
  #closed = false;

  constructor(options: MessagesOptions) {
    this.#o = options;
  }

  /** The channel this client listens on. */
  get channel(): string {
    return this.#o.observer ? this.#o.keys.observer(this.#o.self) : this.#o.keys.node(this.#o.self);
  }

  receive(channel: string, raw: string): void {
    if (this.#closed) return;
    const o = this.#o;
    if (raw.includes('\n')) {
      let frame: ChangeFrame;
      try {
        frame = decodeChange(raw, o);
        // A data change carries its writer's (signed) stamp and write id: one seen before, or stamped outside the window, is a replay.
        const m = frame.meta;
        if ((m.op === 'set' || m.op === 'patch') && !this.#replays.accept('change', m.w, m.ts, o.clock.now())) {
          throw new BadMessageError('replay', `replayed or stale change ${m.w} to version ${frame.header.n}`, channel);
        }
      } catch (err) {
        this.#dropped(err, channel);
        return;
      }
      o.metrics.received('change', raw.length);
      this.#deliver(() => o.onChange(frame, raw.length));
      return;
    }
    let env: AnyEnvelope;
    try {
      env = decodeEnvelope(raw, o);
      if (env.to !== o.self) throw new BadMessageError('wrong_addressee', `a ${env.type} for ${env.to} arrived on the channel of ${o.self}`, channel);
      if (isRequest(env.type) && !this.#replays.accept(env.from, env.cid!, env.ts, o.clock.now())) {
        throw new BadMessageError('replay', `replayed or stale ${env.type} request from ${env.from}`, channel);
      }
    } catch (err) {
      this.#dropped(err, channel);
      return;
    }
    o.metrics.received(env.type, raw.length);
    if (env.type === 'reply') {
      if (env.body.ok) this.#requests.resolve(env.re!, env.body.value);
      else this.#requests.reject(env.re!, new GossipError(env.body.code, env.body.message));
      return;
    }
    if (env.type === 'ack') {
      this.#acks.record(env.from, env.body);
      return;
    }
    this.#deliver(() => o.onEnvelope(env));
  }

  /** Hands a message on; nothing a handler throws reaches ioredis's event handler (it would be an uncaught exception). */
  #deliver(handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.#o.onDrop(new BadMessageError('bad_shape', `a message could not be handled: ${(err as Error)?.message ?? String(err)}`));
    }
  }

  #dropped(err: unknown, channel: string): void {
    const bad = err instanceof BadMessageError ? err : new BadMessageError('bad_shape', String(err), channel);
    if (this.#o.metrics.drop(bad.reason, Date.now())) this.#o.onDrop(bad);
  }

  /** Publishes an envelope to `to`'s channel; resolves to how many listened. Never throws: an encoding failure rejects. */
  async send<K extends MessageType>(to: string, type: K, body: Bodies[K], extra: Partial<Envelope<K>> = {}, channel = this.#o.keys.node(to)): Promise<number> {
    const o = this.#o;
    const env = { v: PROTOCOL_VERSION, ns: o.namespace, type, from: o.self, to, ts: o.clock.now(), body, ...extra, ...(o.observer ? { observer: true } : {}) };
    const text = encodeEnvelope(env as AnyEnvelope, o);
    o.metrics.sent(type, text.length);
    return o.conn.publish(channel, text);
  }

  /** One request/response: rejects at once with {@link NoListenerError} when nobody listens. */
  request<K extends MessageType>(to: string, type: K, body: Bodies[K], timeoutMs: number): Promise<unknown> {
    const done = this.#o.metrics.rpc(type);
    const answer = this.#requests.request(to, type, timeoutMs, async (cid) => {
      const got = await this.send(to, type, body, { cid });
      if (got === 0) throw new NoListenerError(to);
    });
    answer.then(
      () => done('answered'),
      (err: unknown) =>
        done(err instanceof NoListenerError ? 'noListener' : err instanceof RequestTimeoutError ? 'timeouts' : err instanceof GossipError && err.code !== 'stopped' ? 'answered' : 'other'),
    );
    return answer;
  }

  /** Runs a request's handler and sends its answer, or its error, back; a failed send is counted, never thrown. */
  answer(env: AnyEnvelope, serve: () => unknown): void {
    const reply = async (): Promise<Bodies['reply']> => {
      try {
        return { ok: true, value: await serve() };
      } catch (err) {
        const e = err as Partial<GossipError>;
        return { ok: false, code: typeof e.code === 'string' ? e.code : 'error', message: String(e.message ?? err) };
      }
    };
    void reply()
      .then((body) => {
        if (this.#closed) return;
        const channel = env.observer ? this.#o.keys.observer(env.from) : this.#o.keys.node(env.from);
        return this.send(env.from, 'reply', body, { re: env.cid }, channel);
      })
      // An answer that cannot be sent (too big, Redis down) leaves the asker to time out.
      .catch(() => this.#o.metrics.count('repliesFailed'));
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

  /**
   * `node`'s version once it holds `atLeast` of `cluster`: from its ack when
   * that comes within {@link ACK_WAIT_MS} (the change asked for one), else
   * asked with a `vsn` request held for `holdMs`; undefined where it did not answer.
   */
  async holds(node: string, cluster: string, atLeast: number, holdMs: number, timeoutMs: number): Promise<number | undefined> {
    return (await this.#acks.wait(node, cluster, atLeast, Math.min(ACK_WAIT_MS, holdMs))) ?? this.version(node, holdMs + timeoutMs, { atLeast, waitMs: holdMs });
  }

  /** Rejects every pending request and ignores whatever arrives later. */
  close(err?: Error): void {
    this.#closed = true;
    this.#requests.close(err);
    this.#acks.close();
  }
}
