import { Redis } from 'ioredis';
import { Keys } from '../../lib/transport/keys.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gossip, NodeIdInUseError } from '../../lib/index.js';
import { ChildStartError, converged, leaderOf, useChildren, viewOf } from '../support/child.js';
import type { ChildNode, SpawnOptions } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now } from '../support/write-loop.js';

const redis = useRedis();
const children = useChildren();

let probe: Redis;
beforeAll(() => {
  probe = new Redis(redis());
});
afterAll(async () => {
  await probe.quit();
});

type Options = Omit<SpawnOptions, 'nodeId'>;

async function threeNodes(label: string): Promise<{ nodes: ChildNode[]; opts: Options }> {
  const opts: Options = { redis: redis(), namespace: freshNamespace(label), rpcTimeoutMs: 1_000, gossipIntervalMs: 500 };
  return { nodes: await children.cluster(['a', 'b', 'c'], opts), opts };
}

/** How many clients listen on a node's channel (pattern subscribers not counted). */
async function listeners(ns: string, id: string): Promise<number> {
  const [, count] = (await probe.call('PUBSUB', 'NUMSUB', new Keys(ns, true).node(id))) as [string, number];
  return Number(count);
}

/** The version a node's key in Redis says it last held (written on stop and membership changes, refreshed each tick). */
async function storedVersion(ns: string, id: string): Promise<number | undefined> {
  const v = await probe.hget(new Keys(ns, true).snapshot(id), 'v');
  return v === null ? undefined : Number(v);
}

/** A node key without its liveness stamp (which its own node refreshes each tick). */
async function nodeKeyOf(ns: string, id: string): Promise<Record<string, string>> {
  const { seen: _seen, ...rest } = await probe.hgetall(new Keys(ns, true).snapshot(id));
  return rest;
}

describe('a member stopped and restarted with the same id', () => {
  it.each([
    ['a follower', 'stopped', 'follower'],
    ['a follower', 'SIGKILLed', 'follower'],
    ['the leader', 'stopped', 'leader'],
    ['the leader', 'SIGKILLed', 'leader'],
  ] as const)(
    '%s %s and respawned takes its state from Redis and the cluster, with no duplicate membership',
    async (_, how, role) => {
      const { nodes, opts } = await threeNodes('fault-restart');
      const { leader, others } = await leaderOf(nodes);
      const victim = role === 'leader' ? leader : others[0]!;
      const survivors = nodes.filter((n) => n !== victim);
      await survivors[0]!.call('setSync', { round: 0 });
      const versionBefore = await victim.call<number>('version');
      // A member's node key follows the cluster's version at its next tick.
      await eventually(async () => (await storedVersion(opts.namespace, victim.id)) === versionBefore, 5_000, 'its node key at the version it holds');

      if (how === 'stopped') await victim.call('stop');
      else victim.kill('SIGKILL');
      await victim.exited;
      await eventually(async () => (await listeners(opts.namespace, victim.id)) === 0, 5_000, 'the old subscription to go');

      // A killed leader is replaced at a survivor's next tick (its channel has no listener); a stopped one handed over.
      if (role === 'leader') await eventually(async () => (await survivors[0]!.call<string>('leader')) !== victim.id, 5_000, 'a new leader');
      // The cluster moves on without it (writes need no leader).
      for (let round = 1; round <= 3; round++) await survivors[round % 2]!.call('set', { round });
      const moved = await converged(survivors, 10_000);
      expect(moved.data).toEqual({ round: 3 });
      // What it left in Redis is older than the cluster (a leader that stops politely hands over first: +1).
      const stored = await storedVersion(opts.namespace, victim.id);
      expect(stored).toBe(how === 'stopped' && role === 'leader' ? versionBefore + 1 : versionBefore);
      expect(moved.version).toBeGreaterThan(stored!);

      const respawnedAt = now();
      const back = await children.spawn({ ...opts, nodeId: victim.id });
      const restartMs = now() - respawnedAt;
      // Ready means recovered: its node key named the cluster, and the cluster's state in Redis is the newest.
      const first = await viewOf(back);
      expect(first.data).toEqual({ round: 3 });
      expect(first.version).toBe(moved.version);
      expect([...first.nodes].sort()).toEqual(['a', 'b', 'c']);

      const all = [...survivors, back];
      const view = await converged(all, 10_000);
      for (const n of all) expect([...(await n.call<string[]>('nodes'))].sort()).toEqual(['a', 'b', 'c']);
      expect(await listeners(opts.namespace, victim.id)).toBe(1);
      // A full member again: a write waits for it, and its node key follows.
      await back.call('setSync', { round: 4 });
      for (const n of all) expect(await n.call('get')).toEqual({ round: 4 });
      await eventually(async () => (await storedVersion(opts.namespace, victim.id)) === (await back.call<number>('version')), 5_000, 'its node key');

      reportFault('member-restart', { role, how, restartMs: Math.round(restartMs), versionBefore, versionOnReturn: first.version, leaderAfter: view.leader });
    },
    60_000,
  );
});

describe('a second process started with a nodeId that is live in the namespace', () => {
  it("is refused with NodeIdInUseError ('node_id_in_use'), and the live one is unaffected", async () => {
    const { nodes, opts } = await threeNodes('fault-dup');
    const live = nodes.find((n) => n.id === 'b')!;
    const before = await viewOf(live);
    await eventually(async () => (await storedVersion(opts.namespace, 'b')) === before.version, 5_000, "b's node key at the version it holds");
    const nodeKeyBefore = await nodeKeyOf(opts.namespace, 'b');

    const refused = children.spawn({ ...opts, nodeId: 'b' });
    await expect(refused).rejects.toBeInstanceOf(ChildStartError);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest's asymmetric matchers are typed any
    await expect(refused).rejects.toMatchObject({ code: 'node_id_in_use', message: expect.stringContaining('already live') });

    // Unaffected: the same view, its node key untouched, one subscription, and it still answers and writes.
    expect(await viewOf(live)).toEqual(before);
    expect(await nodeKeyOf(opts.namespace, 'b')).toEqual(nodeKeyBefore);
    expect(await listeners(opts.namespace, 'b')).toBe(1);
    expect(await live.call('status')).toMatchObject({ ok: true, version: before.version });
    await live.call('setSync', { from: 'the live b' });
    const view = await converged(nodes, 5_000);
    expect(view.data).toEqual({ from: 'the live b' });
    expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);
  }, 60_000);

  it('is refused in-process too, with the exported error class', async () => {
    const { nodes, opts } = await threeNodes('fault-dup');
    const attempt = Gossip.start({ redis: opts.redis, namespace: opts.namespace, nodeId: 'c', rpcTimeoutMs: 1_000 });
    await expect(attempt).rejects.toBeInstanceOf(NodeIdInUseError);
    await expect(attempt).rejects.toMatchObject({ code: 'node_id_in_use', nodeId: 'c' });
    expect(await listeners(opts.namespace, 'c')).toBe(1);
    await nodes.find((n) => n.id === 'c')!.call('setSync', { from: 'the live c' });
    expect((await converged(nodes, 5_000)).data).toEqual({ from: 'the live c' });
  }, 60_000);
});
