/**
 * Cold start: from `Gossip.start()` until `get()` returns the right data, in
 * this process (its two Redis connections included, the process's own boot
 * not). Next to a live cluster of child processes: a fresh node (a new id:
 * start() resolves with no data, which is right for it) and a node that
 * restarts into the cluster (which holds the same version as when it
 * stopped, or a newer one written while it was down). Alone: a fresh node in
 * an empty namespace, and a whole-service restart (the cluster's hash is in
 * Redis, no member is alive).
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Gossip } from '../lib/index.js';
import type { ChildNode } from '../spec/support/child-node.js';
import { PAYLOAD } from './config.js';
import type { Ctx } from './results.js';
import { now, summarize, until } from './stats.js';

type Data = typeof PAYLOAD & { seq: number };

export async function coldStartAlone(ctx: Ctx): Promise<void> {
  const runs = ctx.plan.coldStartRuns;
  const redis = ctx.redisUrl;

  const fresh: number[] = [];
  const ns1 = `bench-cold-${randomBytes(4).toString('hex')}`;
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    const node = await Gossip.start<Data>({ redis, namespace: ns1, nodeId: `new-${i}` });
    fresh.push(now() - t0);
    await node.stop();
  }
  ctx.results.coldStart.push({ scenario: 'fresh node, empty namespace', n: 1, latencyMs: summarize(fresh), note: 'a new id each time: until start() resolves (no data to return)' });

  // A three-node cluster writes, then every node stops: a whole-service restart.
  const ns2 = `bench-cold-${randomBytes(4).toString('hex')}`;
  const ids = ['a', 'b', 'c'];
  const nodes = await Promise.all(ids.map((nodeId) => Gossip.start<Data>({ redis, namespace: ns2, nodeId })));
  for (const n of nodes.slice(1)) await nodes[0]!.join(n.id);
  const value = { ...PAYLOAD, seq: ctx.marks.next() };
  await nodes[0]!.setSync(value);
  for (const n of nodes.reverse()) await n.stop();
  const alone: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    const node = await Gossip.start<Data>({ redis, namespace: ns2, nodeId: ids[i % ids.length] });
    const got = node.get();
    alone.push(now() - t0);
    await node.stop();
    if (!isDeepStrictEqual(got, value)) throw new Error(`cold start without peers returned ${JSON.stringify(got)}`);
  }
  ctx.results.coldStart.push({ scenario: 'whole-service restart, no live member', n: 3, latencyMs: summarize(alone), note: "every member is down; the cluster's hash is in Redis" });
}

/**
 * Next to the live cluster of `children`: a fresh node (a new id each time)
 * `runs` times; then a node of this process joins the cluster, and is
 * stopped and started again `runs` times, either with nothing changed
 * meanwhile or after a write it missed; finally it leaves.
 */
export async function coldStartWithPeers(ctx: Ctx, namespace: string, children: readonly ChildNode[], leader: ChildNode, n: number): Promise<void> {
  const redis = ctx.redisUrl;
  const fresh: number[] = [];
  for (let i = 0; i < ctx.plan.coldStartRuns; i++) {
    const t0 = now();
    const node = await Gossip.start<Data>({ redis, namespace, nodeId: `fresh-${n}-${i}` });
    const got = node.get();
    fresh.push(now() - t0);
    await node.stop();
    if (got !== undefined) throw new Error(`a fresh node's get() returned ${JSON.stringify(got)}`);
  }
  ctx.results.coldStart.push({ scenario: 'fresh node, next to a live cluster', n, latencyMs: summarize(fresh), note: 'a new id each time, join manual: until start() resolves (no data is right)' });

  const nodeId = `cold-${n}`;
  const writer = children.find((c) => c !== leader) ?? leader;
  const start = () => Gossip.start<Data>({ redis, namespace, nodeId });
  let node = await start();
  try {
    await leader.call('join', nodeId);
    const v = await leader.call<number>('version');
    await until(() => node.version >= v, 10_000, `${nodeId} to join`);
    await node.stop();
    for (const scenario of ['same', 'newer'] as const) {
      const lat: number[] = [];
      for (let i = 0; i < ctx.plan.coldStartRuns; i++) {
        let expected = (await leader.call<Data>('get')).seq;
        if (scenario === 'newer') {
          expected = ctx.marks.next();
          await writer.call('set', { ...PAYLOAD, seq: expected });
          const written = await writer.call<number>('version');
          await until(async () => (await Promise.all(children.map((c) => c.call<number>('version')))).every((x) => x >= written), 30_000, 'the write to reach every member', 5);
        }
        const t0 = now();
        node = await start();
        if (node.get()?.seq !== expected) await until(() => node.get()?.seq === expected, 5_000, `${nodeId} to get seq ${expected}`, 1);
        lat.push(now() - t0);
        await node.stop();
      }
      ctx.results.coldStart.push({
        scenario: scenario === 'same' ? 'restart into the live cluster, same version' : 'restart into the live cluster, newer version',
        n,
        latencyMs: summarize(lat),
        note: scenario === 'same' ? 'nothing changed while it was down' : 'the data was written while the node was down; until get() returns it',
      });
    }
  } finally {
    if (!node.ready) node = await start();
    await node.stop({ leave: true });
    await until(async () => (await leader.call<string[]>('nodes')).length === n, 10_000, `${nodeId} to leave`, 20).catch(() => undefined);
  }
}
