/**
 * The envelopes nodes send each other (everything but the changes the
 * scripts publish): versioned, addressed, stamped by Redis's clock, signed
 * when a secret is set. One switch on the type; anything else is dropped.
 */
import { deserialize, FORBIDDEN_TEXT, hasForbiddenKey, serialize } from '../codec.js';
import { PROTOCOL_VERSION } from '../constants.js';
import { BadMessageError, MessageTooLargeError } from '../errors.js';
import type { DropReason } from '../errors.js';
import type { Head } from '../model/state.js';
import type { Signer } from '../signing.js';

/** Every envelope type, with its body. */
export interface Bodies {
  /** Anti-entropy: the sender's head. */
  head: Head;
  /** Request: which version do you hold? With `atLeast`: answer once you do, or after `waitMs`. */
  vsn: { readonly atLeast?: number; readonly waitMs?: number };
  /** Request: your head. */
  headreq: Record<string, never>;
  /** Request: write the state you hold back to Redis (it lost it). */
  restore: Record<string, never>;
  /** Unasked: the sender holds a change whose meta asked for an ack (lib/transport/acks.ts). */
  ack: Head;
  /** The answer to a request. */
  reply: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: string; readonly message: string };
}

export type MessageType = keyof Bodies;
const REQUESTS: ReadonlySet<string> = new Set<MessageType>(['vsn', 'headreq', 'restore']);

export interface Envelope<K extends MessageType = MessageType> {
  readonly v: number;
  readonly ns: string;
  readonly type: K;
  readonly from: string;
  readonly to: string;
  /** The sender is an observer (its replies go to its observer channel). */
  readonly observer?: boolean;
  /** A request's correlation id. */
  readonly cid?: string;
  /** The request a reply answers. */
  readonly re?: string;
  /** When it was sent, by Redis's clock as the sender knows it. */
  readonly ts: number;
  readonly body: Bodies[K];
}

export type AnyEnvelope = { [K in MessageType]: Envelope<K> }[MessageType];

export const isRequest = (type: MessageType): boolean => REQUESTS.has(type);

export interface EnvelopeOptions {
  readonly namespace: string;
  readonly maxMessageBytes: number;
  readonly signer?: Signer | undefined;
}

export function encodeEnvelope(env: AnyEnvelope, o: EnvelopeOptions): string {
  const payload = serialize(env);
  const text = o.signer ? o.signer.sign(payload) : payload;
  const bytes = Buffer.byteLength(text);
  if (bytes > o.maxMessageBytes) throw new MessageTooLargeError(bytes, o.maxMessageBytes);
  return text;
}

export function decodeEnvelope(raw: string, o: EnvelopeOptions): AnyEnvelope {
  const bytes = Buffer.byteLength(raw);
  if (bytes > o.maxMessageBytes) throw drop('too_big', `message of ${bytes} bytes is over the limit`);
  let text = raw;
  if (o.signer) text = o.signer.open(text);
  else if (text[0] === '~') throw drop('bad_signature', 'signed message, but this node has no secret');
  let value: unknown;
  try {
    value = deserialize(text);
  } catch (err) {
    throw drop('bad_json', `not a message: ${(err as Error).message}`);
  }
  if (FORBIDDEN_TEXT.test(text) && hasForbiddenKey(value)) throw drop('bad_shape', 'message has a __proto__, constructor or prototype key');
  if (!isObject(value)) throw drop('bad_shape', 'envelope is not an object');
  if (value.v !== PROTOCOL_VERSION) throw drop('unknown_protocol', `unknown protocol version ${String(value.v)}`);
  if (value.ns !== o.namespace) throw drop('wrong_namespace', `message for namespace ${String(value.ns)}`);
  if (typeof value.type !== 'string' || !Object.hasOwn(BODY_CHECKS, value.type)) throw drop('unknown_type', `unknown message type ${String(value.type)}`);
  if (!isId(value.from) || !isId(value.to)) throw drop('bad_shape', 'missing sender or addressee');
  if (typeof value.ts !== 'number' || !Number.isFinite(value.ts)) throw drop('bad_shape', 'missing timestamp');
  if (value.observer !== undefined && typeof value.observer !== 'boolean') throw drop('bad_shape', 'bad observer flag');
  const type = value.type as MessageType;
  if (REQUESTS.has(type) ? typeof value.cid !== 'string' : value.cid !== undefined) throw drop('bad_shape', 'bad correlation id');
  if (type === 'reply' ? typeof value.re !== 'string' : value.re !== undefined) throw drop('bad_shape', 'bad reply id');
  if (!isObject(value.body) || !BODY_CHECKS[type](value.body)) throw drop('bad_shape', `malformed ${type} body`);
  return value as unknown as AnyEnvelope;
}

export const isHead = (h: unknown): h is Head =>
  isObject(h) && isId(h.cluster) && Number.isSafeInteger(h.version) && (h.version as number) >= 1 && typeof h.hash === 'string' && /^[0-9a-f]{40}$/.test(h.hash);

const BODY_CHECKS: Record<MessageType, (b: Record<string, unknown>) => boolean> = {
  head: isHead,
  ack: isHead,
  vsn: (b) => (b.atLeast === undefined || isCount(b.atLeast)) && (b.waitMs === undefined || isCount(b.waitMs)),
  headreq: () => true,
  restore: () => true,
  reply: (b) => (b.ok === true ? 'value' in b : b.ok === false && typeof b.code === 'string' && typeof b.message === 'string'),
};

const drop = (reason: DropReason, message: string) => new BadMessageError(reason, message);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 512;
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
