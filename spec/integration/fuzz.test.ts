import superjson from 'superjson';
import { describe, expect, it } from 'vitest';
import { deserialize } from '../../lib/codec.js';
import { Keys } from '../../lib/transport/keys.js';
import type { Gossip } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { cluster, namespace } = useNodes(redis);
const MAX_BYTES = 64 * 1024;
const PER_NODE = Number(process.env.SG_FUZZ_MESSAGES ?? 4_000);

const client = useClients(redis);

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with SG_FUZZ_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Frame = string | Buffer;

describe('hostile and malformed input', () => {
  it(`${PER_NODE} bad messages per node are dropped, counted and reported without changing anything`, async () => {
    const seed = Number(process.env.SG_FUZZ_SEED ?? Date.now() % 1_000_000);
    console.log(`[fuzz] seed ${seed}, ${PER_NODE} messages per node`);
    const rand = prng(seed);
    const pick = <X>(xs: readonly X[]): X => xs[Math.floor(rand() * xs.length)]!;
    const nodes = await cluster<unknown>(['a', 'b', 'c'], { maxMessageBytes: MAX_BYTES, gossipIntervalMs: 60_000 });
    const ns = namespace();

    // Genuine traffic, captured as an attacker on the wire would see it.
    const keys = new Keys(ns, true);
    const captured: string[] = [];
    const tap = client();
    tap.on('message', (_c: string, m: string) => captured.push(m));
    await tap.subscribe(...nodes.map((n) => keys.node(n.id)));
    for (let i = 0; i < 5; i++) await nodes[i % 3]!.setSync({ round: i, tags: ['x', 'y'] });
    await nodes[1]!.status();
    await eventually(() => captured.length > 20);
    const changes = captured.filter((f) => f.includes('\n'));
    const envelopes = captured.filter((f) => !f.includes('\n'));
    const requests = envelopes.filter((f) => ['vsn', 'headreq'].includes(typeOf(f)));
    expect(requests.length).toBeGreaterThan(0);
    expect(changes.length).toBeGreaterThan(0);
    // Enough captured: the tap would otherwise take the whole flood below, three nodes' worth,
    // which can pass Redis's 32 MB output-buffer limit for a subscriber in this busy process.
    await tap.unsubscribe();

    const before = nodes.map((n) => ({ version: n.version, data: n.get(), nodes: n.nodes, leader: n.leader }));
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const errors = new Map<Gossip, Error[]>(nodes.map((n) => [n, []]));
    for (const n of nodes) n.on('error', (e) => void errors.get(n)!.push(e));

    // Each generator makes a frame for the node `to`, so well-formed envelopes get past the addressee check.
    let to = '';
    const envelope = (over: Record<string, unknown>) => superjson.stringify({ v: 2, ns, type: 'head', from: 'mallory', to, ts: Date.now(), body: {}, ...over });
    /** A change frame: a header line, a signature line, a meta line, value lines. */
    const change = (header: Record<string, unknown> | string, meta: Record<string, unknown> | string, values: string[] = [], sig = '') => {
      const h = typeof header === 'string' ? header : JSON.stringify({ v: 2, t: 'change', ns, c: 'c@1', from: 'm', n: 999, h: 'a'.repeat(40), p: 'b'.repeat(40), at: 1, ...header });
      const m = typeof meta === 'string' ? meta : JSON.stringify({ w: `w${rand()}`, ts: Date.now(), op: 'patch', set: ['k'], ...meta });
      return [h, sig, m, ...values].join('\n');
    };
    const generators: Array<() => Frame> = [
      () => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)).filter((b) => b !== 10)),
      () => {
        const g = pick(envelopes);
        return g.slice(0, 1 + Math.floor(rand() * (g.length - 2)));
      },
      () => pick(['{', '[1,', 'null', '"str"', '{"json":', '}{', 'NaN', '{"json":{"v":2}', '\u0000\u0001']),
      () => JSON.stringify({ v: 2, ns, type: 'head', from: 'x', ts: 1, body: {} }),
      () => superjson.stringify(pick([[], 42, 'text', { a: 1 }, { v: 2 }, { v: 2, ns }, null])),
      () => envelope({ body: { cluster: 'c', version: 'high', hash: 'nope' } }),
      () => envelope({ type: 'vsn', cid: 'c1', body: { atLeast: -1 } }),
      () => envelope({ type: 'reply', body: { ok: true, value: 1 } }),
      () => envelope({ type: 'ack', body: pick([{}, { cluster: 'c', version: 0, hash: 'a'.repeat(40) }, { cluster: 'c', version: 3 }, []]) }),
      () => envelope({ type: 'ack', cid: 'c1', body: { cluster: 'c', version: 3, hash: 'a'.repeat(40) } }),
      () => envelope({ type: pick(['HEAD', 'exec', '', 'constructor', '__proto__', 'toString', 'push', 'write']) }),
      () => envelope({ v: pick([0, 1, '2', null, 2.5]) }),
      () => envelope({ ns: pick(['other', `${ns}x`, '', 'simple_gossip']) }),
      () => envelope({ from: pick(['', 7, null, 'x'.repeat(600)]) }),
      () => envelope({ to: pick(['', 'someone-else', 7]) }),
      () => `{"json":{"v":2,"ns":"${ns}","type":"head","from":"m","to":"${to}","ts":1,"body":{"__proto__":{"polluted":true},"cluster":"c","version":99,"hash":"${'a'.repeat(40)}"}}}`,
      () => `{"json":{"v":2,"ns":"${ns}","type":"head","from":"m","to":"${to}","ts":1,"body":{"constructor":{"prototype":{"polluted":true}}}}}`,
      () => `{"json":{"v":2,"ns":"${ns}","type":"head","from":"m","to":"${to}","ts":1,"body":{}},"meta":{"values":{"__proto__.polluted":["undefined"]}}}`,
      () => `{"json":{"v":2,"ns":"${ns}","type":"head","from":"m","to":"${to}","ts":1,"body":{"prototype":1}},"meta":{"referentialEqualities":{"body":["__proto__.polluted"]}}}`,
      // Change frames that are not genuine: every one is dropped before anything reads it.
      () => change(pick(['{', 'null', '[]', '{"v":2}']), {}, ['=1']),
      () => change({ ns: pick(['other', '', `${ns}x`]) }, {}, ['=1']),
      () => change({ v: pick([1, 3, '2']) }, {}, ['=1']),
      () => change({ n: pick([0, -1, 'x', 1.5]) }, {}, ['=1']),
      () => change({ h: pick(['', 'xyz', 'A'.repeat(40)]) }, {}, ['=1']),
      () => change(`{"__proto__":{"polluted":true},"v":2,"t":"change","ns":"${ns}","c":"c@1","from":"m","n":999,"h":"${'a'.repeat(40)}","p":"${'b'.repeat(40)}","at":1}`, {}, ['=1']),
      () => change({}, pick(['{', '', '{"op":"drop"}', '{"op":"patch"}', '[]']), ['=1']),
      () => change({}, { set: pick([['__proto__'], ['constructor'], ['prototype']]) }, ['={"polluted":true}']),
      () => change({}, { del: ['prototype'], set: [] }),
      () => change({}, { set: ['a', 'b'] }, ['=1']),
      () => change({}, {}, ['=1'], 'A'.repeat(43)),
      () => `${change({}, {})}`.split('\n').slice(0, 2).join('\n'),
      () => 'x'.repeat(MAX_BYTES + 1 + Math.floor(rand() * 1000)),
      () => pick(requests),
    ];

    // Every node gets PER_NODE bad messages; genuine changes and heads are replayed on top (they must change nothing either).
    const pub = client();
    const expectedDrops = new Map<string, number>();
    const replayedChanges = new Map<string, number>();
    const staleBefore = new Map(nodes.map((n) => [n.id, n.metrics().counters['changes.stale'] ?? 0]));
    let sent = 0;
    for (const n of nodes) {
      const channel = keys.node(n.id);
      to = n.id;
      expectedDrops.set(n.id, PER_NODE);
      for (let start = 0; start < PER_NODE; start += 500) {
        const batch = pub.pipeline();
        for (let i = start; i < Math.min(PER_NODE, start + 500); i++) batch.publish(channel, pick(generators)());
        // Replays that are dropped or stale, never counted above: old changes (the node holds them, or has seen their write id) and heads.
        const heads = envelopes.filter((f) => typeOf(f) === 'head' && addresseeOf(f) === n.id);
        for (let i = 0; i < 20; i++) {
          const replayed = i % 2 === 0 || heads.length === 0 ? pick(changes) : pick(heads);
          if (replayed.includes('\n')) replayedChanges.set(n.id, (replayedChanges.get(n.id) ?? 0) + 1);
          batch.publish(channel, replayed);
        }
        sent += batch.length;
        await batch.exec();
      }
    }
    console.log(`[fuzz] ${sent} messages published (${PER_NODE * 3} bad, the rest replays of genuine changes and heads)`);

    // Every bad message is counted as dropped, once.
    // A replayed genuine change is either dropped as a replay (its write id was seen) or found stale (the first time at its
    // writer, which was not sent it): the two add up to the replays sent.
    const accounted = (n: Gossip) => totalDropped(n) + (n.metrics().counters['changes.stale'] ?? 0) - staleBefore.get(n.id)!;
    await eventually(
      () => {
        // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- vitest's asymmetric matchers are typed any
        expect(nodes.map((n) => [n.id, accounted(n), n.metrics().dropped])).toEqual(nodes.map((n) => [n.id, expectedDrops.get(n.id)! + replayedChanges.get(n.id)!, expect.anything()]));
      },
      30_000,
      'every drop counted',
    );
    for (const n of nodes) {
      const dropped = n.metrics().dropped;
      console.log(`[fuzz] ${n.id} dropped ${JSON.stringify(dropped)}, reported ${errors.get(n)!.length} times`);
      // Reported, but rate-limited: at most one report per reason per second.
      const reasons = Object.keys(dropped).length;
      expect(errors.get(n)!.length).toBeGreaterThanOrEqual(1);
      expect(errors.get(n)!.length).toBeLessThanOrEqual(reasons * 10);
      expect(dropped.replay ?? 0).toBeGreaterThan(0);
      expect(dropped.too_big ?? 0).toBeGreaterThan(0);
    }

    // Nothing changed, nothing leaked, and the nodes still work.
    expect(nodes.map((n) => ({ version: n.version, data: n.get(), nodes: n.nodes, leader: n.leader }))).toEqual(before);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await nodes[2]!.setSync({ after: 'fuzz' });
    for (const n of nodes) expect(n.get()).toEqual({ after: 'fuzz' });
  }, 120_000);
});

function typeOf(frame: string): string {
  if (frame.includes('\n')) return 'change';
  try {
    return String(deserialize<{ type?: unknown }>(frame).type);
  } catch {
    return '';
  }
}

function addresseeOf(frame: string): string {
  try {
    return String(deserialize<{ to?: unknown }>(frame).to);
  } catch {
    return '';
  }
}

function totalDropped(n: Gossip): number {
  return Object.values(n.metrics().dropped).reduce((a, b) => a + (b ?? 0), 0);
}
