import fc from 'fast-check';
import superjson from 'superjson';
import { afterEach, describe, expect, it } from 'vitest';
import { Codec, roundTrip, serialize } from '../../lib/codec.js';
import type { AnyEnvelope, WriteOp } from '../../lib/codec.js';
import { PROTOCOL_VERSION } from '../../lib/constants.js';
import { BadMessageError, MessageTooLargeError } from '../../lib/errors.js';
import type { DropReason } from '../../lib/errors.js';
import type { Rumor } from '../../lib/model/rumor.js';

const NS = 'unit_ns';
const codec = new Codec({ namespace: NS, maxMessageBytes: 4096 });

const rumor: Rumor = {
  cluster: 'a@1',
  version: 7,
  vclock: { a: { counter: 3, ts: 1_700_000_000_000 }, gone: { counter: 1, ts: 5, deletedAt: 9 } },
  data: { when: new Date(0), tags: new Set(['x']), byId: new Map([[1, 'one']]), big: 10n, nothing: undefined },
  leader: 'a',
  nodes: ['b', 'a'],
  fanout: 2,
  gossipIntervalMs: 15_000,
};

const head = { v: PROTOCOL_VERSION, ns: NS, from: 'a', to: 'b', ts: 1_700_000_000_000 } as const;

const envelopes: Record<string, AnyEnvelope> = {
  push: { ...head, type: 'push', body: { rumor } },
  'push without data': { ...head, type: 'push', body: { rumor: { ...rumor, data: undefined } } },
  head: { ...head, type: 'head', body: { version: 7, vclock: rumor.vclock } },
  pull: { ...head, type: 'pull', cid: 'c1', body: {} },
  'vsn from an observer': { ...head, type: 'vsn', cid: 'c2', observer: true, body: {} },
  'vsn held until a version': { ...head, type: 'vsn', cid: 'c2', body: { atLeast: 7, waitMs: 1_000 } },
  'star push from a root': { ...head, type: 'push', body: { rumor, root: 'c', star: true } },
  join: { ...head, type: 'join', cid: 'c3', body: { rumor } },
  'reply ok': { ...head, type: 'reply', re: 'c1', body: { ok: true, value: { rumor } } },
  'reply ok with undefined': { ...head, type: 'reply', re: 'c1', body: { ok: true, value: undefined } },
  'reply error': { ...head, type: 'reply', re: 'c1', body: { ok: false, code: 'conflict', message: 'nope' } },
};
const ops: WriteOp[] = [
  { kind: 'set', data: { a: [1, 2] } },
  { kind: 'set', data: undefined },
  { kind: 'cas', data: 'x', base: 3 },
  { kind: 'check', base: 1 },
  { kind: 'join', id: 'n2' },
  { kind: 'leave', id: 'n2' },
  { kind: 'settings', fanout: 3 },
  { kind: 'settings', gossipIntervalMs: 500 },
];
for (const op of ops) {
  envelopes[`write ${op.kind} ${JSON.stringify(op, (_k, v: unknown) => (v === undefined ? '<undefined>' : v))}`] = {
    ...head,
    type: 'write',
    cid: 'w',
    body: { op },
  };
}

const aWrite = envelopes[Object.keys(envelopes).find((k) => k.startsWith('write set'))!]!;

/** superjson text of an arbitrary (possibly invalid) envelope. */
const text = (value: unknown): string => superjson.stringify(value);

function dropReason(raw: string | Buffer, c: Codec = codec): DropReason {
  try {
    c.decode(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(BadMessageError);
    expect((err as BadMessageError).code).toBe('bad_message');
    return (err as BadMessageError).reason;
  }
  throw new Error('the message was accepted');
}

afterEach(() => {
  // Nothing in here may ever touch Object.prototype.
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('Codec round trip', () => {
  it.each(Object.entries(envelopes))('%s', (_name, env) => {
    const decoded = codec.decode(codec.encode(env));
    expect(decoded).toEqual(env);
  });

  it('keeps the types superjson carries: Date, Set, Map, BigInt, undefined', () => {
    const decoded = codec.decode(codec.encode(envelopes.push!));
    const data = (decoded.body as { rumor: Rumor }).rumor.data as Record<string, unknown>;
    expect(data.when).toBeInstanceOf(Date);
    expect(data.tags).toBeInstanceOf(Set);
    expect(data.byId).toBeInstanceOf(Map);
    expect(data.big).toBe(10n);
    expect('nothing' in data).toBe(true);
  });

  it('decodes a Buffer as well as a string', () => {
    expect(codec.decode(Buffer.from(codec.encode(envelopes.pull!)))).toEqual(envelopes.pull);
  });
});

describe('Codec.encode', () => {
  it('throws MessageTooLargeError over maxMessageBytes, with the size and the limit', () => {
    const env: AnyEnvelope = { ...head, type: 'push', body: { rumor: { ...rumor, data: 'x'.repeat(5000) } } };
    let thrown: unknown;
    try {
      codec.encode(env);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MessageTooLargeError);
    expect(thrown).toMatchObject({ code: 'message_too_large', limit: 4096 });
    expect((thrown as MessageTooLargeError).bytes).toBeGreaterThan(4096);
  });

  it('counts bytes, not characters', () => {
    const small = new Codec({ namespace: NS, maxMessageBytes: 2048 });
    // 800 characters, 2400 bytes in UTF-8.
    const env: AnyEnvelope = { ...head, type: 'push', body: { rumor: { ...rumor, data: '€'.repeat(800) } } };
    expect(() => small.encode(env)).toThrow(MessageTooLargeError);
  });
});

describe('Codec.decode drops what is not a valid envelope', () => {
  it('too big: checked on bytes before parsing', () => {
    const big = new Codec({ namespace: NS, maxMessageBytes: 8192 });
    const encoded = big.encode({ ...head, type: 'push', body: { rumor: { ...rumor, data: '€'.repeat(1500) } } });
    expect(encoded.length).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(encoded)).toBeGreaterThan(4096);
    expect(dropReason(encoded)).toBe('too_big');
    expect(dropReason(Buffer.from(encoded))).toBe('too_big');
  });

  it('bad JSON', () => {
    expect(dropReason('{"json": {"v": 1,')).toBe('bad_json');
    expect(dropReason('')).toBe('bad_json');
    expect(dropReason('null')).toBe('bad_json');
  });

  it('random bytes', () => {
    expect(dropReason(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x7b, 0x22]))).toBe('bad_json');
  });

  it('property: any bytes are accepted or dropped with a BadMessageError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          codec.decode(Buffer.from(bytes));
          return false;
        } catch (err) {
          return err instanceof BadMessageError;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('plain JSON that is not superjson', () => {
    const env = envelopes.pull!;
    expect(dropReason(JSON.stringify(env))).toBe('bad_shape');
    expect(dropReason('42')).toBe('bad_shape');
    expect(dropReason('[1,2]')).toBe('bad_shape');
  });

  it('an envelope that is not an object', () => {
    expect(dropReason(text('hello'))).toBe('bad_shape');
    expect(dropReason(text([envelopes.pull]))).toBe('bad_shape');
  });

  it('wrong shape: sender, timestamp, ids and flags', () => {
    const pull = envelopes.pull!;
    expect(dropReason(text({ ...pull, from: undefined }))).toBe('bad_shape');
    expect(dropReason(text({ ...pull, from: '' }))).toBe('bad_shape');
    expect(dropReason(text({ ...pull, from: 'x'.repeat(513) }))).toBe('bad_shape');
    expect(dropReason(text({ ...pull, ts: '1' }))).toBe('bad_shape');
    expect(dropReason(text({ ...pull, ts: Number.NaN }))).toBe('bad_shape');
    expect(dropReason(text({ ...pull, cid: 5 }))).toBe('bad_shape');
    expect(dropReason(text({ ...envelopes['reply ok']!, re: 5 }))).toBe('bad_shape');
    expect(dropReason(text({ ...pull, observer: 'yes' }))).toBe('bad_shape');
  });

  it('wrong shape: bodies', () => {
    const push = envelopes.push!;
    const bad = (body: unknown, base: AnyEnvelope = push): DropReason => dropReason(text({ ...base, body }));
    expect(bad(undefined)).toBe('bad_shape');
    expect(bad([])).toBe('bad_shape');
    expect(bad({})).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, version: 0 } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, version: 1.5 } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, leader: '' } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, nodes: 'a' } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, nodes: ['a', 7] } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, fanout: 0 } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, gossipIntervalMs: -1 } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, vclock: { a: { counter: -1, ts: 1 } } } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, vclock: { a: { counter: 1 } } } })).toBe('bad_shape');
    expect(bad({ rumor: { ...rumor, vclock: { a: { counter: 1, ts: 1, deletedAt: 'x' } } } })).toBe('bad_shape');
    expect(bad({ version: 1, vclock: [] }, envelopes.head)).toBe('bad_shape');
    expect(bad({ op: { kind: 'set' } }, aWrite)).toBe('bad_shape');
    expect(bad({ op: { kind: 'drop_table' } }, aWrite)).toBe('bad_shape');
    expect(bad({ op: { kind: 'settings', fanout: 0 } }, aWrite)).toBe('bad_shape');
    expect(bad({ op: { kind: 'cas', data: 1, base: 0 } }, aWrite)).toBe('bad_shape');
    expect(bad({ op: { kind: 'join', id: '' } }, aWrite)).toBe('bad_shape');
    expect(bad({ ok: true }, envelopes['reply ok'])).toBe('bad_shape');
    expect(bad({ ok: false, code: 'x' }, envelopes['reply ok'])).toBe('bad_shape');
    expect(bad({ ok: 'yes', value: 1 }, envelopes['reply ok'])).toBe('bad_shape');
    expect(bad({ rumor, star: 'yes' })).toBe('bad_shape');
    const vsn = envelopes['vsn held until a version']!;
    expect(bad({ atLeast: 0 }, vsn)).toBe('bad_shape');
    expect(bad({ atLeast: '7' }, vsn)).toBe('bad_shape');
    expect(bad({ atLeast: 7, waitMs: -1 }, vsn)).toBe('bad_shape');
    expect(bad({ atLeast: 7, waitMs: 1.5 }, vsn)).toBe('bad_shape');
  });

  it('wrong namespace', () => {
    expect(dropReason(text({ ...envelopes.pull!, ns: 'other' }))).toBe('wrong_namespace');
    const other = new Codec({ namespace: 'other', maxMessageBytes: 4096 });
    const forOther = other.encode({ ...envelopes.pull!, ns: 'other' });
    expect(other.decode(forOther).ns).toBe('other');
    expect(dropReason(forOther)).toBe('wrong_namespace');
    expect(dropReason(text({ ...envelopes.pull!, ns: undefined }))).toBe('wrong_namespace');
  });

  it('unknown protocol version', () => {
    expect(dropReason(text({ ...envelopes.pull!, v: PROTOCOL_VERSION + 1 }))).toBe('unknown_protocol');
    expect(dropReason(text({ ...envelopes.pull!, v: String(PROTOCOL_VERSION) }))).toBe('unknown_protocol');
  });

  it('unknown type', () => {
    expect(dropReason(text({ ...envelopes.pull!, type: 'gossip' }))).toBe('unknown_type');
    expect(dropReason(text({ ...envelopes.pull!, type: 'toString' }))).toBe('unknown_type');
    expect(dropReason(text({ ...envelopes.pull!, type: 3 }))).toBe('unknown_type');
  });

  it('a request without a correlation id, and a reply without the id it answers', () => {
    for (const name of ['pull', 'vsn from an observer', 'join']) {
      expect(dropReason(text({ ...envelopes[name]!, cid: undefined }))).toBe('bad_shape');
    }
    const write = aWrite;
    expect(dropReason(text({ ...write, cid: undefined }))).toBe('bad_shape');
    expect(dropReason(text({ ...envelopes['reply ok']!, re: undefined }))).toBe('bad_shape');
  });

  it('a superjson document whose meta walks into __proto__ or constructor', () => {
    const json = { ...envelopes.pull!, body: { a: {} } };
    const withMeta = (meta: unknown): string => JSON.stringify({ json, meta });
    expect(dropReason(withMeta({ values: { 'body.a.__proto__.polluted': ['undefined'] } }))).toBe('bad_json');
    expect(dropReason(withMeta({ values: { '__proto__.polluted': ['undefined'] } }))).toBe('bad_json');
    expect(dropReason(withMeta({ values: { 'body.a.constructor.prototype.polluted': ['undefined'] } }))).toBe('bad_json');
    expect(dropReason(withMeta({ referentialEqualities: { body: ['__proto__.polluted'] } }))).toBe('bad_json');
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('a __proto__ key in the payload never reaches Object.prototype', () => {
    const raw = text(envelopes.push!).replace('"leader":', '"__proto__":{"polluted":true},"leader":');
    try {
      const decoded = codec.decode(raw) as { body: { rumor: object } };
      expect(Object.getPrototypeOf(decoded.body.rumor)).toBe(Object.prototype);
      expect((decoded.body.rumor as Record<string, unknown>).polluted).toBeUndefined();
    } catch (err) {
      expect(err).toBeInstanceOf(BadMessageError);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // BUG (lib/codec.ts, Codec.check): a payload with an own `__proto__` or
  // `constructor` key (plain JSON keys, which superjson.parse keeps as own
  // properties) is accepted, though superjson refuses to stringify such a
  // value again: a node that adopts it can no longer push, reply or persist
  // its rumor (serialize() throws "Detected property __proto__").
  it('a payload with a __proto__ key is dropped as bad_shape', () => {
    const raw = text(envelopes.push!).replace('"leader":', '"__proto__":{"polluted":true},"leader":');
    expect(dropReason(raw)).toBe('bad_shape');
  });

  it('a payload with a constructor key is dropped as bad_shape', () => {
    const raw = text(envelopes.push!).replace('"leader":', '"constructor":{"prototype":{"polluted":true}},"leader":');
    expect(dropReason(raw)).toBe('bad_shape');
  });

  it('every drop is a BadMessageError with a message', () => {
    try {
      codec.decode('nope');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BadMessageError);
      expect((err as BadMessageError).message).not.toBe('');
      expect((err as BadMessageError).name).toBe('BadMessageError');
    }
  });
});

describe('serialize and roundTrip: what superjson carries', () => {
  it('BigInt, Date, Map, Set, undefined, NaN and Infinity survive', () => {
    const value = { big: 2n ** 70n, d: new Date(5), m: new Map([['k', 1]]), s: new Set([1]), u: undefined, n: Number.NaN, i: -Infinity };
    expect(roundTrip(value)).toEqual(value);
  });

  it('a cycle survives as a cycle', () => {
    const value: { name: string; self?: unknown } = { name: 'loop' };
    value.self = value;
    const copy = roundTrip(value);
    expect(copy).not.toBe(value);
    expect(copy.self).toBe(copy);
  });

  it('functions and symbols are dropped silently, not thrown', () => {
    const value = { keep: 1, fn: () => 1, sym: Symbol('s'), list: [() => 2] };
    expect(() => serialize(value)).not.toThrow();
    expect(roundTrip(value)).toEqual({ keep: 1, list: [null] });
  });

  it('a class instance comes back as a plain object', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const copy = roundTrip(new Point(3));
    expect(copy).toEqual({ x: 3 });
    expect(copy).not.toBeInstanceOf(Point);
  });

  it('a value superjson refuses becomes a TypeError with the cause', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    expect(() => serialize(evil)).toThrow(TypeError);
    const boom = new Error('boom');
    const getter = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw boom; } });
    try {
      serialize(getter);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      expect((err as TypeError).cause).toBe(boom);
    }
  });

  it('roundTrip returns a deep copy', () => {
    const value = { a: { b: [1] } };
    const copy = roundTrip(value);
    expect(copy).toEqual(value);
    expect(copy.a).not.toBe(value.a);
    expect(copy.a.b).not.toBe(value.a.b);
  });
});
