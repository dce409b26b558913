/**
 * simple-gossip with one node per child process — the fair comparison with
 * the original (one BEAM per node). The cluster grows through the sizes of
 * the plan; at each size: convergence and messages per update, write
 * throughput, setSync latency, and cold start next to live peers.
 */
import { randomBytes } from 'node:crypto';
import type { ChildNode } from '../spec/support/child-node.js';
import { coldStartWithPeer } from './cold-start.js';
import {
  killChildren,
  measureConvergence,
  perUpdate,
  pipeRoundTrip,
  runLoop,
  sentByChildren,
  settle,
  spawnChildren,
} from './fleet.js';
import { load1 } from './machine.js';
import { guard, throughputRow } from './results.js';
import type { Ctx, Impl } from './results.js';
import { sleep, summarize, until } from './stats.js';
import { PAYLOAD } from './config.js';

/** Runs the process-per-node measurements, with the default settings or with fencing off. */
export async function gossipChildren(ctx: Ctx, impl: Impl = 'simple-gossip'): Promise<void> {
  const namespace = `bench-${randomBytes(4).toString('hex')}`;
  const options = impl === 'simple-gossip, no fencing' ? { fencing: false } : undefined;
  const children: ChildNode[] = [];
  try {
    for (const n of ctx.plan.childNs) {
      const ids = Array.from({ length: n - children.length }, (_, i) => `node-${String(children.length + i).padStart(3, '0')}`);
      ctx.log(`spawning ${ids.length} node processes (cluster of ${n})`);
      const spawned = await spawnChildren({ redis: ctx.redisUrl, namespace, ...(options ? { options } : {}) }, ids);
      children.push(...spawned);
      const leader = await leaderOf(children);
      for (const c of spawned) if (c !== leader) await join(leader, c.id);
      await until(async () => {
        const views = await Promise.all(children.map(async (c) => [await c.call<string[]>('nodes'), await c.call<number>('version')] as const));
        return views.every(([nodes, v]) => nodes.length === n && v === views[0]![1]);
      }, 60_000, `a cluster of ${n} child nodes`, 100);
      await guard(ctx, `${impl}: process-per-node n=${n}`, () => measureAt(ctx, namespace, children, n, impl));
    }
  } finally {
    await killChildren(children);
  }
}

/** A join can time out on a machine this busy (100 processes on 2 cores): try again, a few times. */
async function join(leader: ChildNode, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await leader.call('join', id);
      return;
    } catch (err) {
      if (attempt >= 4) throw err;
      await sleep(200 * attempt);
    }
  }
}

async function leaderOf(children: readonly ChildNode[]): Promise<ChildNode> {
  const id = await children[0]!.call<string>('leader');
  const leader = children.find((c) => c.id === id);
  if (!leader) throw new Error(`the leader ${id} is none of the children`);
  return leader;
}

async function measureAt(ctx: Ctx, namespace: string, children: readonly ChildNode[], n: number, impl: Impl): Promise<void> {
  const { plan, marks, results } = ctx;
  const leader = await leaderOf(children);
  const others = children.filter((c) => c !== leader);
  const nonLeader = others[0]!;

  if (!results.harness.childCallRoundTripMs) {
    results.harness.childCallRoundTripMs = summarize(await pipeRoundTrip(nonLeader));
  }

  await guard(ctx, `convergence process-per-node n=${n}`, async () => {
    const runs = plan.convergenceRuns(n);
    ctx.log(`convergence, ${n} node processes, ${runs} writes from non-leaders`);
    const before = await sentByChildren(children);
    const r = await measureConvergence(children, (i) => others[i % others.length]!, runs, marks);
    const after = await sentByChildren(children);
    results.convergence.push({
      impl,
      placement: 'process-per-node',
      n,
      runs,
      timeouts: r.timeouts,
      errors: r.errors,
      latencyMs: summarize(r.latencies),
      perUpdate: perUpdate(before, after, runs),
      load1: load1(),
    });
  });

  for (const [from, child] of [['leader', leader], ['non-leader', nonLeader]] as const) {
    for (const inFlight of [1, 64]) {
      await guard(ctx, `throughput n=${n} ${from} ${inFlight}`, async () => {
        ctx.log(`throughput, ${n} node processes, from the ${from}, ${inFlight} in flight`);
        const r = await runLoop(child, { op: 'set', count: 10_000_000, concurrency: inFlight, maxMs: plan.throughputMs, payload: PAYLOAD, from: marks.reserve(10_000_000) });
        results.throughput.push(throughputRow(impl, n, from, inFlight, r, load1()));
        await settle(children);
      });
    }
  }

  if (impl !== 'simple-gossip') return;
  await guard(ctx, `setSync n=${n}`, async () => {
    ctx.log(`setSync, ${n} node processes, from a non-leader`);
    const r = await runLoop(nonLeader, { op: 'setSync', count: plan.setSyncRuns, maxMs: 120_000, payload: PAYLOAD, from: marks.reserve(plan.setSyncRuns) });
    results.setSync.push({ n, from: 'non-leader', errors: r.errors, latencyMs: summarize(r.lat) });
  });

  await guard(ctx, `cold start n=${n}`, async () => {
    ctx.log(`cold start next to ${n} live node processes`);
    await coldStartWithPeer(ctx, namespace, children, leader, n);
  });
}
