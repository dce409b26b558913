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
    await Promise.all(nodes.flatMap((n, i) => Array.from({ length: 10 }, (_, k) => n.set((cur) => {
      seenLengths.push(cur!.length);
      return { change: [...cur!, i * 100 + k] };
    }))));
    await eventually(() => nodes.every((n) => n.get()?.length === 20), 10_000);
    const final = nodes[0]!.get()!;
    expect([...final].sort((x, y) => x - y)).toEqual([...Array.from({ length: 10 }, (_, k) => k), ...Array.from({ length: 10 }, (_, k) => 100 + k)]);
    expect(nodes[1]!.get()).toEqual(final);
    // Some ran more than once (they met a newer version), but every result kept every earlier one.
    expect(seenLengths.length).toBeGreaterThanOrEqual(20);
  });
});

describe('concurrent config writes', () => {
  it('3 nodes setting 20 keys each at once never conflict: every key lands, one version per write', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[0]!.setCfgSync('start', true);
    const version = nodes[0]!.version;
    await Promise.all(nodes.flatMap((n) => Array.from({ length: 20 }, (_, k) => n.setCfg(`${n.id}-${k}`, k))));
    await eventually(() => nodes.every((n) => n.version === version + 60), 10_000);
    for (const n of nodes) {
      const data = n.get() as Record<string, unknown>;
      expect(Object.keys(data)).toHaveLength(61);
      for (const m of nodes) for (let k = 0; k < 20; k++) expect(data[`${m.id}-${k}`]).toBe(k);
    }
    const order = Object.keys(nodes[0]!.get() as object);
    for (const n of nodes) expect(Object.keys(n.get() as object)).toEqual(order);
  });
});
