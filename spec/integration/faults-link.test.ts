import { afterEach, describe, expect, it } from 'vitest';
import { converged, leaderOf, useChildren, viewOf } from '../support/child.js';
import type { ChildNode } from '../support/child.js';
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
async function clusterWithProxiedNode(): Promise<{ nodes: ChildNode[]; cut: ChildNode; proxy: FaultProxy }> {
  proxy = await FaultProxy.start(redis());
  const nodes = await children.cluster(
    ['a', 'b', 'c'],
    { redis: redis(), namespace: freshNamespace('fault-link'), rpcTimeoutMs: RPC_TIMEOUT_MS, gossipIntervalMs: GOSSIP_INTERVAL_MS },
    { c: { redis: proxy.url } },
  );
  const cut = nodes.find((n) => n.id === 'c')!;
  // The first node of a cluster leads it: the cut one is a follower, so the others' writes go on.
  const { leader } = await leaderOf(nodes);
  expect(leader.id).toBe('a');
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
});
