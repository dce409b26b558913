import { afterEach, describe, expect, it } from 'vitest';
import { converged, leaderOf, useChildren, viewOf } from '../support/child.js';
import type { ChildNode, SpawnOptions } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { freshNamespace, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now, WriteLoop } from '../support/write-loop.js';

const redis = useRedis();
const children = useChildren();

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const RPC_TIMEOUT_MS = 1_000;
const GOSSIP_INTERVAL_MS = 500;

/** a, b and c in one cluster; c reaches Redis only through a fault proxy. */
async function clusterWithProxiedNode(options: NonNullable<SpawnOptions['options']> = {}): Promise<{ nodes: ChildNode[]; cut: ChildNode; proxy: FaultProxy }> {
  proxy = await FaultProxy.start(redis());
  const nodes = await children.cluster(
    ['a', 'b', 'c'],
    { redis: redis(), namespace: freshNamespace('fault-link'), rpcTimeoutMs: RPC_TIMEOUT_MS, gossipIntervalMs: GOSSIP_INTERVAL_MS, options },
    { c: { redis: proxy.url } },
  );
  const cut = nodes.find((n) => n.id === 'c')!;
  // The cluster a joins keeps a's leader: the cut one is not the leader (which evicts). Discovery may choose otherwise.
  const { leader } = await leaderOf(nodes);
  if (options.join !== 'auto') expect(leader.id).toBe('a');
  return { nodes, cut, proxy };
}

describe("one node's Redis link cut, then restored, while the others keep writing", () => {
  it('the cut node misses the writes, then catches up through anti-entropy alone', async () => {
    const { nodes, cut, proxy } = await clusterWithProxiedNode();
    const writers = nodes.filter((n) => n !== cut);
    const before = await viewOf(cut);

    proxy.setMode('drop');
    const cutAt = now();
    const loops = writers.map((w) => ({ id: w.id, loop: WriteLoop.start((n) => w.call('setCfg', `${w.id}-${n}`, n), { pauseMs: 20 }) }));
    // The injected fault lasts ~2 s; the writers keep writing all along.
    await new Promise((r) => setTimeout(r, 2_000));
    await Promise.all(loops.map(({ loop }) => loop.stop()));
    const during = await viewOf(cut);
    proxy.setMode('pass');
    const restoredAt = now();

    // The link was really down: nothing reached the cut node, and the others wrote.
    expect(during.version).toBe(before.version);
    const acked = loops.flatMap(({ loop }) => loop.acked);
    expect(acked.length).toBeGreaterThan(10);
    expect(loops.flatMap(({ loop }) => loop.failed)).toEqual([]);

    // No call from the test: the cut node must catch up by itself.
    const view = await converged(nodes, 15_000);
    const catchUpMs = now() - restoredAt;
    expect(view.version).toBeGreaterThan(before.version);
    // Every acknowledged write, in the state every node holds.
    const data = view.data as Record<string, unknown>;
    const missing = loops.flatMap(({ id, loop }) => loop.acked.filter((a) => data[`${id}-${a.seq}`] !== a.seq).map((a) => `${id}-${a.seq}`));
    expect(missing).toEqual([]);
    expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);

    reportFault('link-cut', {
      cutMs: Math.round(restoredAt - cutAt),
      writesAcknowledgedDuringCut: acked.length,
      versionsMissed: view.version - before.version,
      catchUpMsAfterRestore: Math.round(catchUpMs),
      proxy: proxy.counts,
    });
  }, 60_000);

  it('a slow link (300 ms each way) still converges, and setSync waits for the slow member', async () => {
    const { nodes, cut, proxy } = await clusterWithProxiedNode();
    const writer = nodes.find((n) => n.id === 'b')!;
    proxy.setMode('delay', 300);
    const started = now();
    await writer.call('setSync', { slow: true }, { timeoutMs: 5_000 });
    const setSyncMs = now() - started;
    // The write is with the slow member when setSync resolves; no poll needed.
    expect(await cut.call('get')).toEqual({ slow: true });
    // c's answer to the version poll crosses the slow link twice (a few ms of timer rounding allowed).
    expect(setSyncMs).toBeGreaterThanOrEqual(2 * 300 - 5);
    proxy.setMode('pass');
    await converged(nodes, 10_000);
    reportFault('link-delay', { delayMsEachWay: 300, setSyncMs: Math.round(setSyncMs), delayedChunks: proxy.counts.delayedChunks });
  }, 60_000);

  it('cut off longer than evictAfterMs, it is evicted, then rejoins by itself with every write, and its subscribers never see the version go down', async () => {
    const { nodes, cut, proxy } = await clusterWithProxiedNode({ join: 'auto', evictAfterMs: 1_000 });
    const writers = nodes.filter((n) => n !== cut);
    const seen: number[] = [];
    cut.onEvent((line) => {
      if (line.event === 'version') seen.push(line.version as number);
    });
    await cut.call('watchVersions');
    await cut.call('setCfg', 'c-before', true);

    proxy.setMode('drop');
    const loops = writers.map((w) => ({ id: w.id, loop: WriteLoop.start((n) => w.call('setCfg', `${w.id}-${n}`, n), { pauseMs: 20 }) }));
    // Evicted: the leader's view drops it once its node key is older than evictAfterMs.
    await eventually(async () => !(await writers[0]!.call<string[]>('nodes')).includes(cut.id), 10_000, 'the cut node evicted');
    await Promise.all(loops.map(({ loop }) => loop.stop()));
    proxy.setMode('pass');
    const restoredAt = now();

    // Back by itself (its tick finds it unlisted; join 'auto' merges it back), within a few gossip periods.
    const view = await converged(nodes, 10 * GOSSIP_INTERVAL_MS + 5_000);
    const rejoinMs = now() - restoredAt;
    expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);
    const data = view.data as Record<string, unknown>;
    expect(data['c-before']).toBe(true);
    const missing = loops.flatMap(({ id, loop }) => loop.acked.filter((a) => data[`${id}-${a.seq}`] !== a.seq).map((a) => `${id}-${a.seq}`));
    expect(missing).toEqual([]);
    // Every version its subscribers saw is above the one before.
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.filter((v, i) => i > 0 && v <= seen[i - 1]!)).toEqual([]);
    reportFault('link-cut-evicted', { rejoinMsAfterRestore: Math.round(rejoinMs), versionsSeen: seen.length, finalVersion: view.version });
  }, 60_000);
});
