import { describe, expect, it } from 'vitest';
import { BadMessageError, MessageTooLargeError } from '../../lib/errors.js';
import type { DropReason } from '../../lib/errors.js';
import { Signer } from '../../lib/signing.js';
import { decodeEnvelope, encodeEnvelope, isHead, isRequest } from '../../lib/transport/envelope.js';
import type { AnyEnvelope, EnvelopeOptions } from '../../lib/transport/envelope.js';

const NS = 'ns1';
const H3 = '3'.repeat(40);
const opts: EnvelopeOptions = { namespace: NS, maxMessageBytes: 64 * 1024 };

const HEAD = { v: 2, ns: NS, type: 'head', from: 'a', to: 'b', ts: 1, body: { cluster: 'c1', version: 3, hash: H3 } } as const;
/** The plain-JSON text of HEAD, written out by hand. */
const HEAD_TEXT = `={"v":2,"ns":"ns1","type":"head","from":"a","to":"b","ts":1,"body":{"cluster":"c1","version":3,"hash":"${H3}"}}`;

/** A plain-JSON envelope text ('=' + JSON), as encodeEnvelope writes one. */
const raw = (fields: Record<string, unknown>, base: Record<string, unknown> = HEAD): string => `=${JSON.stringify({ ...base, ...fields })}`;

function reasonOf(text: string, o: EnvelopeOptions = opts): DropReason | 'accepted' {
  try {
    decodeEnvelope(text, o);
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(BadMessageError);
    return (err as BadMessageError).reason;
  }
}

describe('encodeEnvelope', () => {
  it('writes plain JSON data as "=" + JSON', () => {
    expect(encodeEnvelope(HEAD as AnyEnvelope, opts)).toBe(HEAD_TEXT);
  });

  it('signs with the first secret: "~" + base64url HMAC-SHA256 of the payload + the payload', () => {
    // printf '<HEAD_TEXT>' | openssl dgst -sha256 -hmac 'k' -binary | base64 | tr '+/' '-_' | tr -d '='
    expect(encodeEnvelope(HEAD as AnyEnvelope, { ...opts, signer: new Signer(['k', 'other']) })).toBe(`~QyMj1ctpQAb3HBq7hS9ZOu5n83jQkIJhKlBVuEw30Sk${HEAD_TEXT}`);
  });

  it('refuses an envelope over maxMessageBytes with a MessageTooLargeError naming both sizes', () => {
    const bytes = Buffer.byteLength(HEAD_TEXT);
    expect(() => encodeEnvelope(HEAD as AnyEnvelope, { ...opts, maxMessageBytes: bytes - 1 })).toThrow(MessageTooLargeError);
    try {
      encodeEnvelope(HEAD, { ...opts, maxMessageBytes: bytes - 1 });
    } catch (err) {
      expect((err as MessageTooLargeError).bytes).toBe(bytes);
      expect((err as MessageTooLargeError).limit).toBe(bytes - 1);
    }
    expect(encodeEnvelope(HEAD as AnyEnvelope, { ...opts, maxMessageBytes: bytes })).toBe(HEAD_TEXT);
  });
});

describe('decodeEnvelope accepts genuine envelopes', () => {
  it('decodes a head', () => {
    expect(decodeEnvelope(HEAD_TEXT, opts)).toEqual(HEAD);
  });

  it('decodes every request type with a correlation id', () => {
    const vsn = { v: 2, ns: NS, type: 'vsn', from: 'a', to: 'b', ts: 5, cid: 'r1', body: { atLeast: 0, waitMs: 200 } };
    expect(decodeEnvelope(raw({}, vsn), opts)).toEqual(vsn);
    const headreq = { v: 2, ns: NS, type: 'headreq', from: 'a', to: 'b', ts: 5, cid: 'r2', body: {} };
    expect(decodeEnvelope(raw({}, headreq), opts)).toEqual(headreq);
    const restore = { v: 2, ns: NS, type: 'restore', from: 'a', to: 'b', ts: 5, cid: 'r3', observer: false, body: {} };
    expect(decodeEnvelope(raw({}, restore), opts)).toEqual(restore);
  });

  it('decodes replies, ok and not ok', () => {
    const good = { v: 2, ns: NS, type: 'reply', from: 'b', to: 'a', ts: 6, re: 'r1', body: { ok: true, value: 7 } };
    expect(decodeEnvelope(raw({}, good), opts)).toEqual(good);
    const bad = { v: 2, ns: NS, type: 'reply', from: 'b', to: 'a', ts: 6, re: 'r1', observer: true, body: { ok: false, code: 'x', message: 'y' } };
    expect(decodeEnvelope(raw({}, bad), opts)).toEqual(bad);
  });

  it('round-trips a reply whose value needs superjson (a Date, a Map)', () => {
    const env = { v: 2, ns: NS, type: 'reply', from: 'b', to: 'a', ts: 6, re: 'r1', body: { ok: true, value: { when: new Date(0), m: new Map([[1, 'x']]) } } };
    const text = encodeEnvelope(env as AnyEnvelope, opts);
    expect(text.startsWith('=')).toBe(false);
    const back = decodeEnvelope(text, opts) as typeof env;
    expect(back).toEqual(env);
    expect(back.body.value.when).toBeInstanceOf(Date);
  });

  it('round-trips signed envelopes, also under a rotated secret list', () => {
    const text = encodeEnvelope(HEAD, { ...opts, signer: new Signer('old') });
    expect(decodeEnvelope(text, { ...opts, signer: new Signer('old') })).toEqual(HEAD);
    expect(decodeEnvelope(text, { ...opts, signer: new Signer(['new', 'old']) })).toEqual(HEAD);
  });
});

describe('decodeEnvelope drops what is not a genuine envelope', () => {
  it('drops an oversized message as too_big, counting bytes', () => {
    const text = raw({ from: 'ééééé' });
    expect(reasonOf(text, { ...opts, maxMessageBytes: Buffer.byteLength(text) - 1 })).toBe('too_big');
    expect(reasonOf(text, { ...opts, maxMessageBytes: text.length })).toBe('too_big');
    expect(reasonOf(text, { ...opts, maxMessageBytes: Buffer.byteLength(text) })).toBe('accepted');
  });

  it('drops text that is neither JSON nor superjson as bad_json', () => {
    expect(reasonOf('={"v":2,')).toBe('bad_json');
    expect(reasonOf('garbage')).toBe('bad_json');
    expect(reasonOf(HEAD_TEXT.slice(0, HEAD_TEXT.length - 3))).toBe('bad_json');
  });

  it('drops a signed message when the node has no secret', () => {
    expect(reasonOf(encodeEnvelope(HEAD as AnyEnvelope, { ...opts, signer: new Signer('k') }))).toBe('bad_signature');
  });

  it('drops an unsigned message when the node has a secret', () => {
    expect(reasonOf(HEAD_TEXT, { ...opts, signer: new Signer('k') })).toBe('bad_signature');
  });

  it('drops a message signed with another secret, or changed after signing', () => {
    const signer = new Signer('k');
    const forged = encodeEnvelope(HEAD, { ...opts, signer: new Signer('forger') });
    expect(reasonOf(forged, { ...opts, signer })).toBe('bad_signature');
    const genuine = encodeEnvelope(HEAD, { ...opts, signer });
    expect(reasonOf(genuine.replace('"ts":1', '"ts":2'), { ...opts, signer })).toBe('bad_signature');
    expect(reasonOf('~short', { ...opts, signer })).toBe('bad_signature');
  });

  it('drops a message that carries a __proto__, constructor or prototype key as bad_shape', () => {
    expect(reasonOf(raw({ body: { cluster: 'c1', version: 3, hash: H3, __proto__x: 1 } }))).toBe('accepted');
    expect(reasonOf(`=${JSON.stringify(HEAD).replace('"body":{', '"body":{"__proto__":{"polluted":true},')}`)).toBe('bad_shape');
    expect(reasonOf(raw({ extra: { constructor: { prototype: { polluted: true } } } }))).toBe('bad_shape');
    expect(reasonOf(raw({ body: { ok: true, value: { deep: [{ prototype: 1 }] } }, type: 'reply', re: 'r' }))).toBe('bad_shape');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('drops a message that is not an object as bad_shape', () => {
    expect(reasonOf('=[1,2]')).toBe('bad_shape');
    expect(reasonOf('=5')).toBe('bad_shape');
    expect(reasonOf('=null')).toBe('bad_shape');
  });

  it('drops another protocol version as unknown_protocol', () => {
    expect(reasonOf(raw({ v: 1 }))).toBe('unknown_protocol');
    expect(reasonOf(raw({ v: 3 }))).toBe('unknown_protocol');
    expect(reasonOf(raw({ v: undefined }))).toBe('unknown_protocol');
  });

  it('drops a message for another namespace as wrong_namespace', () => {
    expect(reasonOf(raw({ ns: 'ns2' }))).toBe('wrong_namespace');
  });

  it('drops an unknown message type as unknown_type', () => {
    for (const type of ['push', 'write', 'change', '', 7]) expect(reasonOf(raw({ type })), String(type)).toBe('unknown_type');
  });

  // BUG (lib/transport/envelope.ts decodeEnvelope): the type is checked with
  // `value.type in BODY_CHECKS`, which is true for every property BODY_CHECKS
  // inherits from Object.prototype. 'toString', 'valueOf', 'constructor' and
  // 'toLocaleString' are then "checked" by calling that inherited method on the
  // body, which returns something truthy, so the envelope is accepted;
  // messages.ts then runs metrics.received(type), whose `table[type] ??= …`
  // finds the inherited function (e.g. the global Object for 'constructor') and
  // writes `messages`/`bytes` properties onto it. Expected: unknown_type
  // (Object.hasOwn(BODY_CHECKS, type)).
  it('drops a type named after an Object.prototype member (toString, valueOf, constructor) as unknown_type', () => {
    for (const type of ['toString', 'valueOf', 'constructor', 'toLocaleString']) expect(reasonOf(raw({ type })), type).toBe('unknown_type');
  });

  // BUG (same line): type '__proto__' passes the `in` test and then
  // BODY_CHECKS['__proto__'] (Object.prototype) is called: decodeEnvelope
  // throws a TypeError ("BODY_CHECKS[type] is not a function") instead of a
  // BadMessageError. Expected: BadMessageError with reason unknown_type.
  it('drops the type "__proto__" with a BadMessageError (unknown_type), not a TypeError', () => {
    expect(reasonOf(raw({ type: '__proto__' }))).toBe('unknown_type');
  });

  it('drops a missing or empty sender or addressee as bad_shape', () => {
    expect(reasonOf(raw({ from: undefined }))).toBe('bad_shape');
    expect(reasonOf(raw({ from: '' }))).toBe('bad_shape');
    expect(reasonOf(raw({ to: undefined }))).toBe('bad_shape');
    expect(reasonOf(raw({ to: 'x'.repeat(513) }))).toBe('bad_shape');
  });

  it('drops a missing or non-numeric timestamp as bad_shape', () => {
    expect(reasonOf(raw({ ts: undefined }))).toBe('bad_shape');
    expect(reasonOf(raw({ ts: '1' }))).toBe('bad_shape');
  });

  it('drops a non-boolean observer flag as bad_shape', () => {
    expect(reasonOf(raw({ observer: 'yes' }))).toBe('bad_shape');
  });

  it('takes an ack: a head, not a request (no correlation id)', () => {
    expect(reasonOf(raw({ type: 'ack' }))).toBe('accepted');
    expect(reasonOf(raw({ type: 'ack', cid: 'r1' }))).toBe('bad_shape');
  });

  it('drops a request without a correlation id, and a non-request with one, as bad_shape', () => {
    expect(reasonOf(raw({ type: 'vsn', body: {} }))).toBe('bad_shape');
    expect(reasonOf(raw({ type: 'headreq', cid: 5, body: {} }))).toBe('bad_shape');
    expect(reasonOf(raw({ cid: 'r1' }))).toBe('bad_shape');
  });

  it('drops a reply without the id it answers, and any other type with one, as bad_shape', () => {
    expect(reasonOf(raw({ type: 'reply', body: { ok: true, value: 1 } }))).toBe('bad_shape');
    expect(reasonOf(raw({ re: 'r1' }))).toBe('bad_shape');
  });

  it('drops a malformed body as bad_shape', () => {
    const bodies: Array<[string, unknown, Record<string, unknown>]> = [
      ['head', undefined, {}],
      ['head', [1], {}],
      ['head', { cluster: 'c1', version: 0, hash: H3 }, {}],
      ['head', { cluster: 'c1', version: 3, hash: 'abc' }, {}],
      ['head', { cluster: '', version: 3, hash: H3 }, {}],
      ['ack', { cluster: 'c1', version: 0, hash: H3 }, {}],
      ['ack', { cluster: 'c1', version: 3 }, {}],
      ['vsn', { atLeast: -1 }, { cid: 'r' }],
      ['vsn', { waitMs: 1.5 }, { cid: 'r' }],
      ['reply', { ok: true }, { re: 'r' }],
      ['reply', { ok: false, code: 'x' }, { re: 'r' }],
      ['reply', { ok: 'yes', value: 1 }, { re: 'r' }],
    ];
    for (const [type, body, extra] of bodies) expect(reasonOf(raw({ type, body, ...extra })), `${type} ${JSON.stringify(body)}`).toBe('bad_shape');
  });
});

describe('isHead and isRequest', () => {
  it('isHead takes a cluster id, a version ≥ 1 and a 40-hex hash', () => {
    expect(isHead({ cluster: 'c', version: 1, hash: H3 })).toBe(true);
    expect(isHead({ cluster: 'c', version: 1, hash: 'A'.repeat(40) })).toBe(false);
    expect(isHead({ cluster: 'c', version: 1, hash: 'a'.repeat(40) })).toBe(true);
    expect(isHead({ cluster: 'c', version: 2.5, hash: H3 })).toBe(false);
  });

  it('isRequest is true for vsn, headreq and restore only', () => {
    expect(['head', 'ack', 'vsn', 'headreq', 'restore', 'reply'].map((t) => isRequest(t as never))).toEqual([false, false, true, true, true, false]);
  });
});
