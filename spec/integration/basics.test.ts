import { describe, expect, it } from 'vitest';
import { useNodes, eventually } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster } = useNodes(redis);

describe('set and get', () => {
  it('a lone node reads back what it set, frozen', async () => {
    const a = await start('a');
    expect(a.get()).toBeUndefined();
    expect(a.version).toBe(1);
    await a.set({ hello: 'world', n: [1, 2] });
    expect(a.get()).toEqual({ hello: 'world', n: [1, 2] });
    expect(Object.isFrozen(a.get())).toBe(true);
    expect(Object.isFrozen((a.get() as { n: number[] }).n)).toBe(true);
    expect(a.version).toBe(2);
  });

  it('a write on a non-leader reaches every member', async () => {
    const [a, b, c] = await cluster(['a', 'b', 'c']);
    const writer = [a!, b!, c!].find((n) => n.leader !== n.id)!;
    await writer.set('from a follower');
    expect(writer.get()).toBe('from a follower');
    await eventually(() => [a!, b!, c!].every((n) => n.get() === 'from a follower'));
  });
});
