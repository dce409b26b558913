import { describe, expect, it } from 'vitest';
import { useNodes, eventually } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { cluster } = useNodes(redis);

describe('concurrent updaters', () => {
  it('3 nodes each running 50 concurrent increments end with exactly 150 everywhere', async () => {
    const nodes = await cluster<number>(['a', 'b', 'c']);
    await nodes[0]!.setSync(0);
    const increments = nodes.flatMap((n) => Array.from({ length: 50 }, () => n.set((cur) => ({ change: (cur ?? 0) + 1 }))));
    await Promise.all(increments);
    await eventually(() => nodes.every((n) => n.get() === 150), 10_000);
    expect(nodes.map((n) => n.get())).toEqual([150, 150, 150]);
  });

  it('an updater that loses a race runs again against the winner’s value, never on a stale one', async () => {
    const nodes = await cluster<number[]>(['a', 'b']);
    await nodes[0]!.setSync([]);
    const seenLengths: number[] = [];
    await Promise.all(
      nodes.flatMap((n, i) =>
        Array.from({ length: 10 }, (_, k) =>
          n.set((cur) => {
            seenLengths.push(cur!.length);
            return { change: [...cur!, i * 100 + k] };
          }),
        ),
      ),
    );
    await eventually(() => nodes.every((n) => n.get()?.length === 20), 10_000);
    const final = nodes[0]!.get()!;
    expect([...final].sort((x, y) => x - y)).toEqual([...Array.from({ length: 10 }, (_, k) => k), ...Array.from({ length: 10 }, (_, k) => 100 + k)]);
    expect(nodes[1]!.get()).toEqual(final);
    // Some ran more than once (they met a newer version), but every result kept every earlier one.
    expect(seenLengths.length).toBeGreaterThanOrEqual(20);
  });
});

describe('concurrent config writes', () => {
  it('3 nodes setting 20 keys each at once never conflict: every key lands, each node’s calls committed together', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[0]!.setCfgSync('start', true);
    const version = nodes[0]!.version;
    const versions = await Promise.all(nodes.flatMap((n) => Array.from({ length: 20 }, (_, k) => n.setCfg(`${n.id}-${k}`, k).then(() => n.version))));
    const last = Math.max(...versions);
    await eventually(() => nodes.every((n) => n.version === last), 10_000);
    // Calls made while a commit of the same node is in flight go out together: far fewer versions than calls.
    expect(last - version).toBeLessThan(60);
    expect(last - version).toBeGreaterThanOrEqual(3);
    for (const n of nodes) {
      const data = n.get() as Record<string, unknown>;
      expect(Object.keys(data)).toHaveLength(61);
      for (const m of nodes) for (let k = 0; k < 20; k++) expect(data[`${m.id}-${k}`]).toBe(k);
    }
    const order = Object.keys(nodes[0]!.get() as object);
    for (const n of nodes) expect(Object.keys(n.get() as object)).toEqual(order);
  });
});

describe('writes called while a commit is in flight (group commit)', () => {
  it('commit together: each call resolves to a version that holds its write or a later one of the same node, every member ends on the last value', async () => {
    const nodes = await cluster<number>(['a', 'b', 'c']);
    const writer = nodes[1]!;
    const seen: number[] = [];
    nodes[2]!.subscribe((e) => void seen.push(e.data!));
    const start = writer.version;
    const versions = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.set(i).then(() => writer.version)));
    // In call order, the versions never go down, and the last call's version holds the last value.
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    const last = versions.at(-1)!;
    expect(last - start).toBeLessThan(100);
    await eventually(() => nodes.every((n) => n.version === last && n.get() === 99), 10_000);
    // What another member sees only ever moves forward through the calls, ending on the last.
    await eventually(() => seen.at(-1) === 99, 5_000);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
  });

  it('config patches merge key by key; a removal and a later set of the same key keep their order', async () => {
    const [a, b] = await cluster(['a', 'b']);
    await a!.setCfgSync('first', 0);
    const calls = [a!.setCfg('x', 1), a!.setCfg('y', 2), a!.deleteCfg('first'), a!.setCfg('x', 3), a!.setCfg('first', 4), a!.patchCfg({ z: 5, y: undefined })];
    const versions = await Promise.all(calls.map((c) => c.then(() => a!.version)));
    await eventually(() => b!.version === versions.at(-1), 5_000);
    for (const n of [a!, b!]) {
      expect(n.get()).toEqual({ x: 3, first: 4, z: 5 });
      // "first" was removed, then set again: in turn it goes last of the keys there then, as it would one call at a time.
      expect(Object.keys(n.get() as object)).toEqual(['x', 'first', 'z']);
    }
  });

  it('a call that cannot succeed rejects alone; the calls around it commit', async () => {
    const [a, b] = await cluster(['a', 'b']);
    await a!.setSync(1);
    const results = await Promise.allSettled([
      a!.set(2),
      a!.set({ f: () => 0 } as unknown as number), // a function inside: refused before anything is sent
      a!.setCfg('k', 1), // a patch on a value that is not an object (2, or 1 as this node holds it): fails by itself
      a!.set({ ok: true } as unknown as number),
      a!.set({ ok: true, m: 2 } as unknown as number),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
      'fulfilled',
      expect.stringMatching(/function/),
      expect.stringMatching(/object/),
      'fulfilled',
      'fulfilled',
    ]);
    await eventually(() => b!.version === a!.version, 5_000);
    expect(b!.get()).toEqual({ ok: true, m: 2 });
  });

  it('merged patches too big for one message commit one by one', async () => {
    const [a, b] = await cluster(['a', 'b'], { maxMessageBytes: 40_000 });
    const big = 'x'.repeat(15_000);
    await a!.setCfgSync('start', true);
    const versions = await Promise.all(['p', 'q', 'r', 's'].map((k) => a!.setCfg(k, big).then(() => a!.version)));
    await eventually(() => b!.version === Math.max(...versions), 5_000);
    expect(Object.keys(b!.get() as object)).toEqual(['start', 'p', 'q', 'r', 's']);
    expect(new Set(versions).size).toBeGreaterThanOrEqual(2);
  });
});
