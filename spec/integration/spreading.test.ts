import { describe, expect, it } from 'vitest';
import type { MetricsSnapshot } from '../../lib/index.js';
import { useChildren } from '../support/child.js';
import { eventually, useNodes } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';

const redis = useRedis();
const { cluster } = useNodes(redis);
const children = useChildren();

const pushesSent = (m: MetricsSnapshot): number => m.counters.pushes ?? 0;
const pushesReceived = (m: MetricsSnapshot): number => m.received.push?.messages ?? 0;

describe('spreading a change on a standalone Redis', () => {
  it("the leader's commit reaches every member in one hop: it alone pushes, once to each member but the writer, and nobody passes it on", async () => {
    const nodes = await cluster(['a', 'b', 'c', 'd', 'e'], { gossipIntervalMs: 60_000 });
    const leader = nodes.find((n) => n.leader === n.id)!;
    const writer = nodes.find((n) => n !== leader)!;
    const before = nodes.map((n) => n.metrics());
    await writer.set('hello');
    await eventually(() => nodes.every((n) => n.version === writer.version && n.get() === 'hello'));
    // Time for any push that should not be there to arrive.
    await new Promise((r) => setTimeout(r, 200));
    const after = nodes.map((n) => n.metrics());
    expect(nodes.map((n, i) => [n.id, pushesSent(after[i]!) - pushesSent(before[i]!)])).toEqual(
      nodes.map((n) => [n.id, n === leader ? nodes.length - 2 : 0]),
    );
    expect(nodes.map((n, i) => [n.id, pushesReceived(after[i]!) - pushesReceived(before[i]!)])).toEqual(
      nodes.map((n) => [n.id, n === leader || n === writer ? 0 : 1]),
    );
  });

  it('setSync asks each member once, and a member answers as soon as it holds the version', async () => {
    const nodes = await children.cluster(['a', 'b', 'c'], { redis: redis(), namespace: freshNamespace('sync'), gossipIntervalMs: 60_000 });
    const leaderId = await nodes[0]!.call<string>('leader');
    const [writer, laggard] = nodes.filter((n) => n.id !== leaderId) as [(typeof nodes)[0], (typeof nodes)[0]];
    const before = (await writer.call<MetricsSnapshot>('metrics')).rpc.vsn?.calls ?? 0;
    laggard.kill('SIGSTOP');
    let settled = false;
    const synced = writer.call('setSync', 'everywhere', { timeoutMs: 10_000 }).finally(() => void (settled = true));
    // Frozen, the laggard cannot hold the version: setSync waits for it (with the old polling it asked again and again).
    await new Promise((r) => setTimeout(r, 700));
    expect(settled).toBe(false);
    laggard.kill('SIGCONT');
    await synced;
    expect(await laggard.call('get')).toBe('everywhere');
    const after = (await writer.call<MetricsSnapshot>('metrics')).rpc.vsn?.calls ?? 0;
    expect(after - before).toBe(nodes.length - 1);
  });
});
