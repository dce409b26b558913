/**
 * The join findings of issue 10, through discovery (`join: 'auto'`) and in
 * node processes: v1 let a fresh node whose id sorts first, joining a
 * one-node cluster that held one acknowledged write, wipe that write on
 * both nodes while status() said healthy, and two clusters that each held
 * config keys lost one side's keys. membership.test.ts has the manual
 * join()s in one process; this file covers the same rules when discovery
 * merges, the status() check, and separate processes.
 */
import { describe, expect, it } from 'vitest';
import type { Gossip } from '../../lib/index.js';
import { parseStored } from '../../lib/node/store.js';
import { converged, useChildren } from '../support/child.js';
import type { ChildNode, SpawnOptions } from '../support/child.js';
import { eventually, useNodes } from '../support/cluster.js';
import { keysOf } from '../support/keys.js';
import { freshNamespace, useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const client = useClients(redis);
const children = useChildren();
const { start, namespace } = useNodes(redis, { gossipIntervalMs: 200 });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const AUTO = { join: 'auto' as const, gossipIntervalMs: 200 };

/** What Redis holds for `node`'s cluster, parsed. */
async function stored(ns: string, cluster: string) {
  return parseStored<unknown>(cluster, await client().hgetall(keysOf(ns).cluster(cluster)), undefined);
}

describe('a fresh node whose id sorts first joins a one-node cluster holding one acknowledged write, in node processes: the write stays on both, status healthy', () => {
  const writes = {
    'a whole value': { write: (n: ChildNode) => n.call('set', 'acked'), expected: 'acked' },
    'a config key': { write: (n: ChildNode) => n.call('setCfg', 'limit', 10), expected: { limit: 10 } },
  } as const;
  const cases = (['join auto', 'fresh.join(written)', 'written.join(fresh)'] as const).flatMap((via) => (Object.keys(writes) as Array<keyof typeof writes>).map((kind) => [via, kind] as const));

  it.each(cases)(
    '%s, %s',
    async (via, kind) => {
      const ns = freshNamespace('join-fresh');
      const opts = (nodeId: string): SpawnOptions => ({
        redis: redis(),
        namespace: ns,
        nodeId,
        rpcTimeoutMs: 1_000,
        gossipIntervalMs: 300,
        options: via === 'join auto' ? { join: 'auto' } : {},
      });
      const written = await children.spawn(opts('b'));
      await writes[kind].write(written);
      const writtenVersion = await written.call<number>('version');
      // 'a' sorts before 'b'; it never wrote anything.
      const fresh = await children.spawn(opts('a'));
      if (via === 'fresh.join(written)') await fresh.call('join', 'b');
      if (via === 'written.join(fresh)') await written.call('join', 'a');
      const view = await converged([fresh, written], 15_000);
      expect([...view.nodes].sort()).toEqual(['a', 'b']);
      expect(view.data).toEqual(writes[kind].expected);
      expect(view.version).toBeGreaterThan(writtenVersion);
      for (const n of [fresh, written]) {
        expect(await n.call('get')).toEqual(writes[kind].expected);
        expect(await n.call('status')).toMatchObject({ ok: true, version: view.version });
      }
      const s = await stored(ns, view.cluster);
      expect(s?.state.data).toEqual(writes[kind].expected);
      // Stays so: a few ticks later nothing has changed it.
      await sleep(1_000);
      expect((await converged([fresh, written], 5_000)).data).toEqual(writes[kind].expected);
    },
    60_000,
  );
});

/**
 * Two clusters, each written, merged by discovery: the small one, of 'auto'
 * nodes y1 and y2, and the big one, of 'manual' nodes x1–x3 (size 3 once x3 joins),
 * which the auto nodes then join by themselves (the absorbed side is theirs).
 */
async function twoClusters() {
  const y1 = await start('y1', AUTO);
  const y2 = await start('y2', AUTO);
  await eventually(() => y1.nodes.length === 2 && y2.nodes.length === 2, 5_000, 'y1 and y2 one cluster');
  // X: as big as Y (and newer: Y stays the one discovery picks) until x3 joins.
  const x1 = await start('x1', { gossipIntervalMs: 200 });
  const x2 = await start('x2', { gossipIntervalMs: 200 });
  await x1.join(x2.id);
  const x3 = await start('x3', { gossipIntervalMs: 200 });
  return {
    xs: [x1, x2] as Gossip[],
    ys: [y1, y2] as Gossip[],
    /** x3 joins X: X is the largest, and discovery merges Y into it. */
    merge: async (): Promise<Gossip[]> => {
      await x1.join(x3.id);
      const all = [x1, x2, x3, y1, y2];
      await eventually(() => all.every((n) => n.nodes.length === 5 && n.version === all[0]!.version && n.rumor.cluster === x1.rumor.cluster), 10_000, 'one cluster of five');
      return all;
    },
  };
}

describe('two written clusters merged by discovery', () => {
  it('keep every config key of both', async () => {
    const { xs, ys, merge } = await twoClusters();
    await xs[0]!.setCfg('fromX1', 1);
    await xs[1]!.patchCfg({ fromX2: 2, alsoX2: 'x' });
    await ys[0]!.setCfg('fromY1', 3);
    await ys[1]!.patchCfg({ fromY2: 4, alsoY2: 'y' });
    const all = await merge();
    const expected = { fromX1: 1, fromX2: 2, alsoX2: 'x', fromY1: 3, fromY2: 4, alsoY2: 'y' };
    for (const n of all) expect(n.get()).toEqual(expected);
    const order = Object.keys(all[0]!.get() as object);
    for (const n of all) expect(Object.keys(n.get() as object)).toEqual(order);
    expect((await stored(namespace(), all[0]!.rumor.cluster))?.state.data).toEqual(expected);
    for (const n of all) expect(await n.status()).toMatchObject({ ok: true });
  });

  it.each(['the absorbed side (the auto nodes)', 'the surviving side'] as const)('a key both wrote keeps the later write: %s wrote it last', async (last) => {
    const { xs, ys, merge } = await twoClusters();
    const [first, second] = last === 'the surviving side' ? [ys[0]!, xs[0]!] : [xs[0]!, ys[0]!];
    await xs[1]!.setCfg('onlyX', 'x');
    await ys[1]!.setCfg('onlyY', 'y');
    await first.setCfg('shared', `from ${first.id} (earlier)`);
    await sleep(5);
    await second.setCfg('shared', `from ${second.id} (later)`);
    const all = await merge();
    for (const n of all) expect(n.get()).toEqual({ onlyX: 'x', onlyY: 'y', shared: `from ${second.id} (later)` });
  });

  it.each(['never-written big cluster absorbs a written small one', 'never-written small cluster is absorbed by a written big one'] as const)(
    'a cluster never written never wins, even at a higher version: a %s',
    async (shape) => {
      const { xs, ys, merge } = await twoClusters();
      const [blank, written] = shape.startsWith('never-written big') ? [xs, ys] : [ys, xs];
      // The blank side climbs far above the written one without writing data.
      for (let i = 0; i < 6; i++) await blank[0]!.setGossipInterval(200 + i);
      await written[0]!.set({ kept: true });
      expect(blank[0]!.version).toBeGreaterThan(written[0]!.version);
      const all = await merge();
      for (const n of all) expect(n.get()).toEqual({ kept: true });
    },
  );

  it.each([
    ['the absorbed side wrote a value last, over the other side’s config keys', 'y', 'value'],
    ['the surviving side wrote a value last, over the other side’s config keys', 'x', 'value'],
    ['the absorbed side wrote config keys last, over the other side’s value', 'y', 'keys'],
    ['the surviving side wrote its value last, over the other side’s value', 'x', 'both values'],
  ] as const)('a value that is not an object: the side written last wins (%s)', async (_label, lastSide, kind) => {
    const { xs, ys, merge } = await twoClusters();
    const [lastNode, otherNode] = lastSide === 'y' ? [ys[0]!, xs[0]!] : [xs[0]!, ys[0]!];
    const lastWrite = kind === 'keys' ? { a: 1, b: 2 } : `value of ${lastNode.id}`;
    if (kind === 'value') await otherNode.patchCfg({ a: 1, b: 2 });
    else await otherNode.set(kind === 'keys' ? 'an earlier value' : `value of ${otherNode.id}`);
    // The other side climbs higher: the version does not decide.
    for (let i = 0; i < 4; i++) await otherNode.setGossipInterval(200 + i);
    await sleep(5);
    await lastNode.set(lastWrite);
    const all = await merge();
    for (const n of all) expect(n.get()).toEqual(lastWrite);
  });
});
