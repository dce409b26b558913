import { describe, expect, it } from 'vitest';
import { deserializeForeign } from '../../lib/codec.js';
import { BadMessageError } from '../../lib/errors.js';
import type { DropReason } from '../../lib/errors.js';
import { Signer } from '../../lib/signing.js';
import { decodeChange, headerPrefix, signatureLine } from '../../lib/transport/frames.js';
import type { FrameOptions } from '../../lib/transport/frames.js';

const NS = 'ns1';
const H5 = '5'.repeat(40);
const H6 = 'a6'.repeat(20);
const AT = 1_700_000_000_000;
const opts: FrameOptions = { namespace: NS, maxMessageBytes: 64 * 1024 };

/** The header line as commit-2.lua completes it, written out by hand. */
const HEADER = `{"v":2,"t":"change","ns":"ns1","c":"c1","from":"w","n":6,"h":"${H6}","p":"${H5}","at":${AT}}`;
const META = '{"w":"w1","ts":1700000000000,"op":"patch","set":["a","b"],"del":["c"]}';
const VALUES = ['=1', '="x"'];

const frame = (o: { header?: string; sig?: string; meta?: string; values?: readonly string[] } = {}): string => [o.header ?? HEADER, o.sig ?? '', o.meta ?? META, ...(o.values ?? VALUES)].join('\n');

const header = (fields: Record<string, unknown>): string => JSON.stringify({ v: 2, t: 'change', ns: NS, c: 'c1', from: 'w', n: 6, h: H6, p: H5, at: AT, ...fields });

/** The reason decodeChange dropped `raw` with, or 'accepted'. */
function reasonOf(raw: string, o: FrameOptions = opts): DropReason | 'accepted' {
  try {
    decodeChange(raw, o);
    return 'accepted';
  } catch (err) {
    expect(err).toBeInstanceOf(BadMessageError);
    expect((err as BadMessageError).code).toBe('bad_message');
    return (err as BadMessageError).reason;
  }
}

describe('headerPrefix and signatureLine', () => {
  it('headerPrefix is the open header a script completes', () => {
    expect(headerPrefix('ns1', 'c1', 'w')).toBe('{"v":2,"t":"change","ns":"ns1","c":"c1","from":"w"');
    expect(`${headerPrefix('ns1', 'c1', 'w')},"n":6,"h":"${H6}","p":"${H5}","at":${AT}}`).toBe(HEADER);
  });

  it('headerPrefix escapes ids as JSON strings', () => {
    expect(headerPrefix('n"s', 'c\\1', 'w\n')).toBe('{"v":2,"t":"change","ns":"n\\"s","c":"c\\\\1","from":"w\\n"');
  });

  it('signatureLine is empty without a signer', () => {
    expect(signatureLine(undefined, META, VALUES)).toBe('');
  });

  it('signatureLine is the base64url HMAC-SHA256 of the meta and value lines', () => {
    // printf '<META>\n=1\n="x"' | openssl dgst -sha256 -hmac 's3cret' -binary | base64 | tr '+/' '-_' | tr -d '='
    expect(signatureLine(new Signer('s3cret'), META, VALUES)).toBe('XgCGNFIX2oiO_InPoF5M5O32sk-iT1L-yznJlXIQnH0');
  });
});

describe('decodeChange accepts genuine frames', () => {
  it('decodes an unsigned data frame into its header, meta, meta text and undecoded values', () => {
    expect(decodeChange(frame(), opts)).toEqual({
      header: { v: 2, t: 'change', ns: NS, c: 'c1', from: 'w', n: 6, h: H6, p: H5, at: AT },
      meta: { w: 'w1', ts: AT, op: 'patch', set: ['a', 'b'], del: ['c'] },
      metaText: META,
      values: ['=1', '="x"'],
    });
  });

  it('decodes a value-mode set of undefined: no key, no value line', () => {
    const meta = '{"w":"w2","ts":1,"op":"set","mode":"v","set":[]}';
    const raw = `${HEADER}\n\n${meta}`;
    expect(decodeChange(raw, opts).values).toEqual([]);
    expect(decodeChange(raw, opts).meta).toEqual({ w: 'w2', ts: 1, op: 'set', mode: 'v', set: [] });
  });

  it('decodes a config-mode set with sigs and a value that holds a superjson text', () => {
    const meta = '{"w":"w3","ts":1,"op":"set","mode":"c","set":["d"],"sigs":[""]}';
    const value = '{"json":"2020-01-01T00:00:00.000Z","meta":{"values":["Date"]}}';
    const f = decodeChange(frame({ meta, values: [value] }), opts);
    expect(f.values).toEqual([value]);
    expect(f.meta).toEqual({ w: 'w3', ts: 1, op: 'set', mode: 'c', set: ['d'], sigs: [''] });
  });

  it("decodes a set whose writer asks for acks (a …Sync call's change)", () => {
    const meta = '{"w":"w4","ts":1,"op":"set","mode":"v","set":[""],"ack":1}';
    expect(decodeChange(frame({ meta, values: ['=1'] }), opts).meta).toEqual({ w: 'w4', ts: 1, op: 'set', mode: 'v', set: [''], ack: 1 });
  });

  it('decodes meta, merge and restore frames (no signature, no values) — they only make the node read', () => {
    for (const meta of ['{"op":"meta","why":"join","id":"x"}', '{"op":"merge","absorbed":"c2","id":"y"}', '{"op":"restore"}']) {
      const f = decodeChange(`${HEADER}\n\n${meta}`, opts);
      expect(f.metaText).toBe(meta);
      expect(f.values).toEqual([]);
      expect(f.meta).toEqual(JSON.parse(meta));
    }
  });

  it('accepts a restore header whose prev hash is empty', () => {
    expect(decodeChange(`${header({ p: '' })}\n\n{"op":"restore"}`, opts).header.p).toBe('');
  });

  it('accepts a frame of exactly maxMessageBytes bytes', () => {
    const raw = frame();
    expect(reasonOf(raw, { ...opts, maxMessageBytes: Buffer.byteLength(raw) })).toBe('accepted');
  });
});

describe('decodeChange drops what is not a genuine frame', () => {
  it('drops an oversized frame as too_big, counting bytes, not characters', () => {
    const raw = frame({ values: ['="€€€€"', '=1'] });
    expect(reasonOf(raw, { ...opts, maxMessageBytes: Buffer.byteLength(raw) - 1 })).toBe('too_big');
    // under the limit in UTF-16 code units, over it in UTF-8 bytes
    expect(raw.length).toBeLessThan(Buffer.byteLength(raw));
    expect(reasonOf(raw, { ...opts, maxMessageBytes: raw.length })).toBe('too_big');
  });

  it('drops a frame without a signature line or meta line as bad_shape', () => {
    expect(reasonOf(HEADER)).toBe('bad_shape');
    expect(reasonOf(`${HEADER}\n`)).toBe('bad_shape');
    expect(reasonOf('')).toBe('bad_shape');
  });

  it('drops a header that is not JSON as bad_json', () => {
    expect(reasonOf(frame({ header: HEADER.slice(0, 40) }))).toBe('bad_json');
  });

  it('drops a truncated meta line as bad_json', () => {
    expect(reasonOf(`${HEADER}\n\n${META.slice(0, 30)}`)).toBe('bad_json');
  });

  it('drops another protocol version or message type as unknown_protocol', () => {
    expect(reasonOf(frame({ header: header({ v: 1 }) }))).toBe('unknown_protocol');
    expect(reasonOf(frame({ header: header({ v: '2' }) }))).toBe('unknown_protocol');
    expect(reasonOf(frame({ header: header({ t: 'head' }) }))).toBe('unknown_protocol');
    expect(reasonOf(frame({ header: '[2,"change"]' }))).toBe('unknown_protocol');
    expect(reasonOf(frame({ header: 'null' }))).toBe('unknown_protocol');
  });

  it('drops a frame of another namespace as wrong_namespace', () => {
    expect(reasonOf(frame({ header: header({ ns: 'ns2' }) }))).toBe('wrong_namespace');
    expect(reasonOf(frame({ header: header({ ns: undefined }) }))).toBe('wrong_namespace');
  });

  it('drops a malformed header as bad_shape', () => {
    const bad: Array<Record<string, unknown>> = [
      { n: 0 },
      { n: -1 },
      { n: 1.5 },
      { n: '6' },
      { h: H6.toUpperCase() },
      { h: H6.slice(1) },
      { h: undefined },
      { p: 'xyz' },
      { p: undefined },
      { c: '' },
      { c: 'c'.repeat(513) },
      { c: 7 },
      { from: undefined },
      { from: '' },
      { at: 1.5 },
      { at: '1' },
      { at: undefined },
    ];
    for (const fields of bad) expect(reasonOf(frame({ header: header(fields) })), JSON.stringify(fields)).toBe('bad_shape');
  });

  it('drops a malformed meta as bad_shape', () => {
    const bad = [
      '{"w":"w","ts":1,"op":"replace","set":[]}',
      '{"ts":1,"op":"set","set":[]}',
      '{"w":"w","ts":"1","op":"set","set":[]}',
      '{"w":"w","ts":1,"op":"set","mode":"x","set":[]}',
      '{"w":"w","ts":1,"op":"set"}',
      '{"w":"w","ts":1,"op":"set","set":"a"}',
      '{"w":"w","ts":1,"op":"patch","set":[1]}',
      '{"w":"w","ts":1,"op":"patch","set":[],"del":[null]}',
      '{"w":"w","ts":1,"op":"patch","set":[],"del":"a"}',
      '{"w":"w","ts":1,"op":"patch","set":[],"sigs":[1]}',
      '{"w":"w","ts":1,"op":"set","set":[],"ack":true}',
      '{"w":"w","ts":1,"op":"set","set":[],"ack":2}',
      '[]',
      '"set"',
      '{"op":"gossip"}',
    ];
    for (const meta of bad) expect(reasonOf(frame({ meta, values: [] })), meta).toBe('bad_shape');
  });

  it('drops a meta, merge or restore frame that carries value lines as bad_shape', () => {
    expect(reasonOf(`${HEADER}\n\n{"op":"meta","why":"x"}\n=1`)).toBe('bad_shape');
  });

  it('drops a meta that carries a __proto__, constructor or prototype key as bad_shape', () => {
    for (const meta of [
      '{"w":"w","ts":1,"op":"set","set":[],"__proto__":{"polluted":true}}',
      '{"w":"w","ts":1,"op":"set","set":[],"constructor":{"prototype":{"polluted":true}}}',
      '{"w":"w","ts":1,"op":"set","set":[],"x":{"prototype":1}}',
      '{"op":"meta","__proto__":{"polluted":true}}',
    ]) {
      expect(reasonOf(frame({ meta, values: [] })), meta).toBe('bad_shape');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('drops a frame whose value count differs from its key count as bad_shape', () => {
    expect(reasonOf(frame({ values: ['=1'] }))).toBe('bad_shape');
    expect(reasonOf(frame({ values: ['=1', '=2', '=3'] }))).toBe('bad_shape');
    // a trailing newline is one (empty) value too many
    expect(reasonOf(`${HEADER}\n\n{"w":"w","ts":1,"op":"set","mode":"v","set":[]}\n`)).toBe('bad_shape');
  });

  // BUG (lib/transport/frames.ts decodeChange): the forbidden-key check looks at
  // the meta's keys only, not at the names in `set`. A change that sets a key
  // named "__proto__" is accepted, and applyData / parseStored then assign it
  // with `obj[key] = value`, which replaces the data's prototype (see
  // model-state.test.ts). Expected: dropped as bad_shape, like any other
  // __proto__-carrying input.
  it('drops a change that sets a key named __proto__ as bad_shape', () => {
    const meta = '{"w":"w","ts":1,"op":"patch","set":["__proto__"]}';
    expect(reasonOf(frame({ meta, values: ['={"isAdmin":true}'] }))).toBe('bad_shape');
  });

  // Value texts are decoded by the node only when it applies the change (a
  // stale frame costs no parse): deserializeForeign refuses them there.
  it("passes a value text on undecoded, and the node's decoder refuses a __proto__ key in it", () => {
    const meta = '{"w":"w","ts":1,"op":"patch","set":["a"]}';
    const f = decodeChange(frame({ meta, values: ['={"__proto__":{"isAdmin":true}}'] }), opts);
    expect(() => deserializeForeign(f.values[0]!)).toThrow(TypeError);
  });

  // BUG (lib/transport/frames.ts decodeChange): the header is not checked for
  // forbidden keys at all (envelope.ts checks the whole message). Low impact
  // (JSON.parse makes it an own property), but it is a __proto__-carrying input
  // that is not dropped.
  it('drops a header that carries a __proto__ key as bad_shape', () => {
    const h = HEADER.replace(/}$/, ',"__proto__":{"polluted":true}}');
    expect(reasonOf(frame({ header: h }))).toBe('bad_shape');
  });
});

describe('decodeChange and signatures', () => {
  const signer = new Signer('s3cret');
  const signed = (s: Signer, meta = META, values: readonly string[] = VALUES): string => frame({ sig: signatureLine(s, meta, values), meta, values });

  it('a frame signed with signatureLine round-trips under the same secret', () => {
    const f = decodeChange(signed(signer), { ...opts, signer });
    expect(f.metaText).toBe(META);
    expect(f.values).toEqual(VALUES);
    expect(f.header.h).toBe(H6);
  });

  it('a frame signed with an older secret is accepted while that secret is still listed', () => {
    expect(reasonOf(signed(new Signer('old')), { ...opts, signer: new Signer(['new', 'old']) })).toBe('accepted');
    expect(reasonOf(signed(new Signer('old')), { ...opts, signer: new Signer(['new']) })).toBe('bad_signature');
  });

  it('drops a frame signed with another secret as bad_signature', () => {
    expect(reasonOf(signed(new Signer('forger')), { ...opts, signer })).toBe('bad_signature');
  });

  it('drops a signed frame whose value or meta was changed as bad_signature', () => {
    const sig = signatureLine(signer, META, VALUES);
    expect(reasonOf(frame({ sig, values: ['=1', '="y"'] }), { ...opts, signer })).toBe('bad_signature');
    expect(reasonOf(frame({ sig, meta: META.replace('"w1"', '"w9"') }), { ...opts, signer })).toBe('bad_signature');
  });

  it('drops a garbage signature as bad_signature', () => {
    expect(reasonOf(frame({ sig: 'not a signature!' }), { ...opts, signer })).toBe('bad_signature');
  });

  it('drops an unsigned data frame when the node has a secret', () => {
    expect(reasonOf(frame(), { ...opts, signer })).toBe('bad_signature');
  });

  it('drops a signed data frame when the node has no secret', () => {
    expect(reasonOf(signed(signer))).toBe('bad_signature');
  });

  it('takes an unsigned meta frame under a secret (it only makes the node read the signed state)', () => {
    expect(reasonOf(`${HEADER}\n\n{"op":"meta","why":"x"}`, { ...opts, signer })).toBe('accepted');
  });
});
