import { describe, expect, it } from 'vitest';
import { useNodes } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster } = useNodes(redis);

describe('status', () => {
  it('is ok with the version, leader and members when every member agrees', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setSync('x');
    const s = await nodes[2]!.status();
    expect(s).toEqual({ ok: true, version: nodes[2]!.version, leader: nodes[2]!.leader, nodes: nodes[2]!.nodes });
  });

  it('of a lone node is ok', async () => {
    const a = await start('a');
    expect(await a.status()).toEqual({ ok: true, version: 1, leader: 'a', nodes: ['a'] });
  });

  it('times out naming a member that is down, and says so at once', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const victim = nodes.find((n) => n.leader !== n.id)!;
    const asker = nodes.find((n) => n !== victim)!;
    await victim.stop();
    const t0 = Date.now();
    const s = await asker.status();
    expect(s).toEqual({ ok: false, error: 'timeout', unresponsive: [victim.id], leader: asker.leader, nodes: asker.nodes });
    // Nobody listens on a stopped member's channel: no need to wait for the timeout.
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('metrics count requests with their outcomes and round trips, reconciles, and the version lag', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const follower = nodes.find((n) => n.leader !== n.id)!;
    await follower.setSync('x');
    const m = follower.metrics();
    expect(m.rpc.write).toMatchObject({ calls: 1, answered: 1, timeouts: 0, noListener: 0 });
    expect(m.rpc.write!.totalMs).toBeGreaterThan(0);
    expect(m.rpc.vsn!.answered).toBeGreaterThanOrEqual(2);
    expect(m.counters['reconcile.adopt']).toBeGreaterThanOrEqual(1);
    expect(m.versionLag).toBe(0);
    const victim = nodes.find((n) => n !== follower && n.leader !== n.id)!;
    await victim.stop();
    await follower.status();
    expect(follower.metrics().rpc.vsn!.noListener).toBe(1);
  });
});
