import { describe, expect, it } from 'vitest';
import { Observer } from '../../lib/index.js';
import { useChildren } from '../support/child.js';
import type { ChildNode } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';

const redis = useRedis();
const children = useChildren();

/** Three node processes in one cluster, with short timeouts. */
function threeNodes(): Promise<ChildNode[]> {
  return children.cluster(['a', 'b', 'c'], {
    redis: redis(),
    namespace: freshNamespace('death'),
    rpcTimeoutMs: 1_000,
    gossipIntervalMs: 1_000,
  });
}

async function leaderOf(nodes: readonly ChildNode[]): Promise<{ leader: ChildNode; others: ChildNode[] }> {
  const views = await Promise.all(nodes.map((n) => n.call<string>('leader')));
  expect(new Set(views).size).toBe(1);
  const leader = nodes.find((n) => n.id === views[0])!;
  return { leader, others: nodes.filter((n) => n !== leader) };
}

describe('a node process that dies', () => {
  // The leader choice is a hash, so one survivor is the successor and the
  // other must be redirected to it: run the write from each side.
  it.each([
    ['first', 0],
    ['second', 1],
  ] as const)('the leader dies: the %s survivor writes, another node takes over, and both survivors agree', async (_, pick) => {
    const nodes = await threeNodes();
    const { leader, others } = await leaderOf(nodes);
    const writer = others[pick]!;
    const value = { after: 'the leader died', by: writer.id };

    leader.kill('SIGKILL');
    expect(await leader.exited).toMatchObject({ signal: 'SIGKILL' });

    await writer.call('set', value);
    expect(await writer.call('get')).toEqual(value);

    await eventually(async () => {
      const [values, leaders] = await Promise.all([
        Promise.all(others.map((n) => n.call('get'))),
        Promise.all(others.map((n) => n.call<string>('leader'))),
      ]);
      expect(values).toEqual([value, value]);
      expect(leaders[0]).toBe(leaders[1]);
      expect(leaders[0]).not.toBe(leader.id);
    }, 10_000, 'both survivors to hold the write and agree on the new leader');
  });

  it('a frozen leader (SIGSTOP) is replaced: its subscription lives on, but it answers nothing', async () => {
    const nodes = await threeNodes();
    const { leader, others } = await leaderOf(nodes);
    leader.kill('SIGSTOP');
    for (const writer of others) {
      const value = { frozen: leader.id, by: writer.id };
      await writer.call('set', value);
      expect(await writer.call('get')).toEqual(value);
    }
    const leaders = await Promise.all(others.map((n) => n.call<string>('leader')));
    expect(leaders[0]).toBe(leaders[1]);
    expect(leaders[0]).not.toBe(leader.id);
  });

  it('an observer writes after the leader died: the next leader takes over', async () => {
    const namespace = freshNamespace('death');
    const nodes = await children.cluster(['a', 'b', 'c'], { redis: redis(), namespace, rpcTimeoutMs: 1_000, gossipIntervalMs: 1_000 });
    const { leader, others } = await leaderOf(nodes);
    leader.kill('SIGKILL');
    await leader.exited;
    const observer = await Observer.connect({ redis: redis(), namespace, rpcTimeoutMs: 1_000 });
    try {
      const rumor = await observer.write({ kind: 'cfg', key: 'by', value: 'observer' });
      expect(rumor.leader).not.toBe(leader.id);
      await eventually(async () => {
        for (const n of others) expect(await n.call('getCfg', 'by')).toBe('observer');
      }, 5_000);
    } finally {
      await observer.close();
    }
  });

  it('status times out naming the dead member', async () => {
    const nodes = await threeNodes();
    const { leader, others } = await leaderOf(nodes);
    const [victim, survivor] = others as [ChildNode, ChildNode];

    victim.kill('SIGKILL');
    await victim.exited;

    const status = await survivor.call('status');
    expect(status).toEqual({
      ok: false,
      error: 'timeout',
      unresponsive: [victim.id],
      leader: leader.id,
      nodes: expect.arrayContaining(['a', 'b', 'c']),
    });
  });
});
