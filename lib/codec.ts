import superjson from 'superjson';
import { PROTOCOL_VERSION } from './constants.js';
import { BadMessageError, MessageTooLargeError } from './errors.js';
import type { DropReason } from './errors.js';
import type { Head, Rumor } from './model/rumor.js';
import type { ClockEntry, VClock } from './model/vclock.js';
import type { Signer } from './signing.js';

/** A change a caller asks the leader to make. */
export type WriteOp =
  | { readonly kind: 'set'; readonly data: unknown }
  | { readonly kind: 'cas'; readonly data: unknown; readonly base: number }
  | { readonly kind: 'check'; readonly base: number }
  /** Config mode, applied by the leader itself: never conflicts. */
  | { readonly kind: 'cfg'; readonly key: string; readonly value?: unknown; readonly remove?: boolean }
  | { readonly kind: 'join'; readonly id: string }
  | { readonly kind: 'leave'; readonly id: string }
  | { readonly kind: 'settings'; readonly fanout?: number; readonly gossipIntervalMs?: number };

/** Every message type on the wire, with its body. */
export interface Bodies {
  /**
   * A newer rumor, pushed down the broadcast tree of the node that started
   * the wave (`root`, default the sender); `star`: the sender sent it to
   * every member itself, so it is not passed on.
   */
  push: { readonly rumor: Rumor; readonly root?: string; readonly star?: boolean };
  /** Anti-entropy: the sender's head. */
  head: Head;
  /** Request: send me your rumor. */
  pull: Record<string, never>;
  /**
   * Request: which version do you hold? With `atLeast`: answer once you hold
   * that version, or after `waitMs` with the one you hold then.
   */
  vsn: { readonly atLeast?: number; readonly waitMs?: number };
  /** Request to the leader: apply this. */
  write: { readonly op: WriteOp };
  /** Request from a leader to a node it adds: here is the rumor that lists you. */
  join: { readonly rumor: Rumor };
  /** The answer to any request. */
  reply: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: string; readonly message: string };
}

export type MessageType = keyof Bodies;
const TYPES: ReadonlySet<string> = new Set<MessageType>(['push', 'head', 'pull', 'vsn', 'write', 'join', 'reply']);

/** The versioned envelope every message travels in. */
export interface Envelope<K extends MessageType = MessageType> {
  readonly v: number;
  readonly ns: string;
  readonly type: K;
  /** Sender id; its reply channel is its node channel, or its observer channel when `observer`. */
  readonly from: string;
  /**
   * Addressee id: a copy published to another node's channel is not for it.
   * Pushes leave it out, so one encoding serves every neighbour (a push is
   * harmless wherever it lands: only a newer rumor is taken).
   */
  readonly to?: string;
  readonly observer?: boolean;
  /** Correlation id of a request. */
  readonly cid?: string;
  /** Correlation id this reply answers. */
  readonly re?: string;
  /** Sender's wall clock at sending. */
  readonly ts: number;
  readonly body: Bodies[K];
}

export type AnyEnvelope = { [K in MessageType]: Envelope<K> }[MessageType];

export interface CodecOptions {
  readonly namespace: string;
  readonly maxMessageBytes: number;
  /** Signs and checks every frame when given. */
  readonly signer?: Signer | undefined;
}

/** Encodes and decodes envelopes; every inbound problem becomes a {@link BadMessageError}. */
export class Codec {
  constructor(private readonly opts: CodecOptions) {}

  encode(envelope: AnyEnvelope): string {
    const payload = serialize(envelope);
    const text = this.opts.signer ? this.opts.signer.sign(payload) : payload;
    const bytes = Buffer.byteLength(text);
    if (bytes > this.opts.maxMessageBytes) throw new MessageTooLargeError(bytes, this.opts.maxMessageBytes);
    return text;
  }

  decode(raw: string | Buffer): AnyEnvelope {
    const bytes = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
    if (bytes > this.opts.maxMessageBytes) throw drop('too_big', `message of ${bytes} bytes is over the limit`);
    let text = raw.toString();
    if (this.opts.signer) text = this.opts.signer.open(text);
    else if (text[0] === '~') throw drop('bad_signature', 'signed message, but this node has no secret');
    let value: unknown;
    try {
      value = deserialize(text);
    } catch (err) {
      throw drop('bad_json', `not a superjson document: ${(err as Error).message}`);
    }
    if (FORBIDDEN_TEXT.test(text) && hasForbiddenKey(value)) {
      throw drop('bad_shape', 'message has a __proto__, constructor or prototype key');
    }
    return this.check(value);
  }

  private check(value: unknown): AnyEnvelope {
    if (!isObject(value)) throw drop('bad_shape', 'envelope is not an object');
    if (value.v !== PROTOCOL_VERSION) throw drop('unknown_protocol', `unknown protocol version ${String(value.v)}`);
    if (value.ns !== this.opts.namespace) throw drop('wrong_namespace', `message for namespace ${String(value.ns)}`);
    if (typeof value.type !== 'string' || !TYPES.has(value.type)) throw drop('unknown_type', `unknown message type ${String(value.type)}`);
    if (!isId(value.from)) throw drop('bad_shape', 'missing sender');
    if (value.to === undefined ? value.type !== 'push' : !isId(value.to)) throw drop('bad_shape', 'missing addressee');
    if (typeof value.ts !== 'number' || !Number.isFinite(value.ts)) throw drop('bad_shape', 'missing timestamp');
    if (value.cid !== undefined && typeof value.cid !== 'string') throw drop('bad_shape', 'bad correlation id');
    if (value.re !== undefined && typeof value.re !== 'string') throw drop('bad_shape', 'bad reply id');
    if (value.observer !== undefined && typeof value.observer !== 'boolean') throw drop('bad_shape', 'bad observer flag');
    if (!validBody(value.type as MessageType, value.body, value)) throw drop('bad_shape', `malformed ${value.type} body`);
    return value as unknown as AnyEnvelope;
  }
}

/**
 * Throws a TypeError naming the first part of `value` that would not arrive
 * intact on another node: functions and symbols (which superjson silently
 * drops), class instances (which would lose their prototype), and the keys
 * `__proto__`, `constructor` and `prototype` (which superjson refuses).
 */
export function assertSerializable(value: unknown, path = 'value', seen = new Set<unknown>()): void {
  if (typeof value === 'function') throw new TypeError(`${path} is a function, which cannot be sent to other nodes`);
  if (typeof value === 'symbol') throw new TypeError(`${path} is a symbol, which cannot be sent to other nodes`);
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertSerializable(v, `${path}[${i}]`, seen));
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      assertSerializable(k, `${path} key`, seen);
      assertSerializable(v, `${path}.get(${String(k)})`, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) assertSerializable(v, `${path} member`, seen);
  } else if (!CARRIED.some((type) => value instanceof type) && !ArrayBuffer.isView(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      throw new TypeError(`${path} is an instance of class ${name}, which would arrive as a plain object`);
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new TypeError(`${path} has a key named "${key}", which cannot be sent to other nodes`);
      assertSerializable((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
    }
  }
}

/** Keys superjson refuses to write (a prototype-pollution guard), so no node may hold them. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const FORBIDDEN_TEXT = /"(__proto__|constructor|prototype)"/;

export function hasForbiddenKey(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) if (hasForbiddenKey(k, seen) || hasForbiddenKey(v, seen)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const v of value) if (hasForbiddenKey(v, seen)) return true;
    return false;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key) || hasForbiddenKey((value as Record<string, unknown>)[key], seen)) return true;
  }
  return false;
}

/** Built-in classes superjson carries with their type. */
const CARRIED: ReadonlyArray<abstract new (...args: never[]) => unknown> = [Date, RegExp, Error, URL];

/** Marks a payload written as plain JSON; any other payload is superjson. */
const PLAIN = '=';

/**
 * The text of a value. Plain JSON data (the common case) takes the fast
 * path, `JSON.stringify`, about ten times cheaper than superjson; anything
 * JSON cannot carry exactly (undefined, Dates, Maps, Sets, BigInts, NaN, -0,
 * shared or cyclic references) goes through superjson. A clear TypeError for
 * what neither can carry.
 */
export function serialize(value: unknown): string {
  try {
    return isPlainJson(value, 0) ? PLAIN + JSON.stringify(value) : superjson.stringify(value);
  } catch (err) {
    throw new TypeError(`value cannot be serialised: ${(err as Error).message}`, { cause: err });
  }
}

/** The value of a {@link serialize} text; throws on text that is neither form. */
export function deserialize<T>(text: string): T {
  return text.startsWith(PLAIN) ? (JSON.parse(text.slice(PLAIN.length)) as T) : superjson.parse<T>(text);
}

/** A deep copy of `value` as every other node will see it. */
export function roundTrip<T>(value: T): T {
  return deserialize<T>(serialize(value));
}

/** Whether JSON carries `value` exactly (a tree, not a graph: deep nesting is left to superjson). */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        // superjson refuses these keys with a clear error: let it.
        if (FORBIDDEN_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function drop(reason: DropReason, message: string): BadMessageError {
  return new BadMessageError(reason, message);
}

function validBody(type: MessageType, body: unknown, env: Record<string, unknown>): boolean {
  if (!isObject(body)) return false;
  switch (type) {
    case 'push':
      return isRumor(body.rumor) && (body.root === undefined || isId(body.root)) && (body.star === undefined || typeof body.star === 'boolean');
    case 'join':
      return isRumor(body.rumor) && typeof env.cid === 'string';
    case 'head':
      return isHead(body);
    case 'pull':
      return typeof env.cid === 'string';
    case 'vsn':
      return typeof env.cid === 'string' && (body.atLeast === undefined || isVersion(body.atLeast)) && (body.waitMs === undefined || isCount(body.waitMs));
    case 'write':
      return typeof env.cid === 'string' && isWriteOp(body.op);
    case 'reply':
      return typeof env.re === 'string' && (body.ok === true
        ? 'value' in body
        : body.ok === false && typeof body.code === 'string' && typeof body.message === 'string');
  }
}

function isWriteOp(op: unknown): op is WriteOp {
  if (!isObject(op)) return false;
  switch (op.kind) {
    case 'set':
      return 'data' in op;
    case 'cas':
      return 'data' in op && isVersion(op.base);
    case 'check':
      return isVersion(op.base);
    case 'cfg':
      return typeof op.key === 'string' && (op.remove === undefined || typeof op.remove === 'boolean');
    case 'join':
    case 'leave':
      return isId(op.id);
    case 'settings':
      return (op.fanout === undefined || isPositiveInt(op.fanout))
        && (op.gossipIntervalMs === undefined || isPositiveInt(op.gossipIntervalMs));
    default:
      return false;
  }
}

export function isRumor(r: unknown): r is Rumor {
  return isObject(r)
    && isId(r.cluster)
    && isHead(r)
    && isId(r.leader)
    && Array.isArray(r.nodes)
    && r.nodes.every(isId)
    && isPositiveInt(r.fanout)
    && isPositiveInt(r.gossipIntervalMs);
}

export function isHead(h: unknown): h is Head {
  return isObject(h) && isVersion(h.version) && isClock(h.vclock);
}

function isClock(c: unknown): c is VClock {
  if (!isObject(c)) return false;
  for (const key of Object.keys(c)) {
    if (!isEntry(c[key])) return false;
  }
  return true;
}

function isEntry(e: unknown): e is ClockEntry {
  return isObject(e)
    && Number.isSafeInteger(e.counter) && (e.counter as number) >= 0
    && typeof e.ts === 'number' && Number.isFinite(e.ts)
    && (e.deletedAt === undefined || (typeof e.deletedAt === 'number' && Number.isFinite(e.deletedAt)));
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 512;
const isVersion = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isPositiveInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;
