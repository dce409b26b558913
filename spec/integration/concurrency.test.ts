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
});
