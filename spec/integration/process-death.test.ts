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
  // No write goes through the leader: either survivor writes at once, whichever becomes the next leader.
  it.each([
    ['first', 0],
    ['second', 1],
  ] as const)('the leader dies: the %s survivor writes at once, another node takes the housekeeping, and both survivors agree', async (_, pick) => {
    const nodes = await threeNodes();
    const { leader, others } = await leaderOf(nodes);
    const writer = others[pick]!;
    const value = { after: 'the leader died', by: writer.id };

    leader.kill('SIGKILL');
    expect(await leader.exited).toMatchObject({ signal: 'SIGKILL' });

    await writer.call('set', value);
    expect(await writer.call('get')).toEqual(value);

    await eventually(
      async () => {
        const [values, leaders] = await Promise.all([Promise.all(others.map((n) => n.call('get'))), Promise.all(others.map((n) => n.call<string>('leader')))]);
        expect(values).toEqual([value, value]);
        expect(leaders[0]).toBe(leaders[1]);
        expect(leaders[0]).not.toBe(leader.id);
      },
      10_000,
      'both survivors to hold the write and agree on the new leader',
    );
  });

  it('a frozen leader (SIGSTOP) changes nothing for writers, and is replaced: its subscription lives on, but it refreshes nothing', async () => {
    const nodes = await threeNodes();
    const { leader, others } = await leaderOf(nodes);
    leader.kill('SIGSTOP');
    for (const writer of others) {
      const value = { frozen: leader.id, by: writer.id };
      await writer.call('set', value);
      expect(await writer.call('get')).toEqual(value);
    }
    await eventually(
      async () => {
        const leaders = await Promise.all(others.map((n) => n.call<string>('leader')));
        expect(leaders[0]).toBe(leaders[1]);
        expect(leaders[0]).not.toBe(leader.id);
      },
      10_000,
      'the survivors to agree on a new leader',
    );
  });

  it('an observer writes after the leader died: the write lands on every survivor, and the next leader takes over', async () => {
    const namespace = freshNamespace('death');
    const nodes = await children.cluster(['a', 'b', 'c'], { redis: redis(), namespace, rpcTimeoutMs: 1_000, gossipIntervalMs: 1_000 });
    const { leader, others } = await leaderOf(nodes);
    leader.kill('SIGKILL');
    await leader.exited;
    const observer = await Observer.connect({ redis: redis(), namespace, rpcTimeoutMs: 1_000 });
    try {
      const rumor = await observer.write({ kind: 'cfg', key: 'by', value: 'observer' });
      expect((rumor.data as Record<string, unknown>).by).toBe('observer');
      await eventually(async () => {
        for (const n of others) expect(await n.call('getCfg', 'by')).toBe('observer');
        for (const n of others) expect(await n.call('leader')).not.toBe(leader.id);
      }, 10_000);
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
      // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest's asymmetric matchers are typed any
      nodes: expect.arrayContaining(['a', 'b', 'c']),
    });
  });
});
