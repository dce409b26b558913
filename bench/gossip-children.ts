/**
 * simple-gossip with one node per child process — the fair comparison with
 * the original (one BEAM per node) and with the floor (one process per
 * subscriber). The cluster grows through the sizes of the plan; at each
 * size: the floor at that size (floor.ts, while the nodes idle), a warm-up
 * (every node writes {@link WARM_UP_WRITES_PER_NODE} times), then convergence of a set() from a non-leader and from the leader (with
 * messages per update), sequential and 64-in-flight writes from either, a
 * lone write right after a burst, setSync, and cold starts next to the live
 * cluster (in this process).
 */
import { randomBytes } from 'node:crypto';
import type { ChildNode } from '../spec/support/child-node.js';
import { coldStartWithPeers } from './cold-start.js';
import { BURST_IN_FLIGHT, BURST_WRITES, IDLE_MS, PAYLOAD, THROUGHPUT_SEGMENTS, WARM_UP_WRITES_PER_NODE } from './config.js';
import { stopChildren, measureConvergence, measureLoneAfterBurst, perUpdate, runLoop, settle, spawnChildren, trafficOfChildren } from './fleet.js';
import type { FloorRig } from './floor.js';
import { load1 } from './machine.js';
import { scriptTimeDuring } from './redis-stats.js';
import { guard, throughputRow } from './results.js';
import type { Ctx } from './results.js';
import { bestOf, median, sleep, summarize, until } from './stats.js';

/** At each N, `rig` first measures the floor at that N (while the node processes idle). */
export async function gossipChildren(ctx: Ctx, rig?: FloorRig): Promise<void> {
  const namespace = `bench-${randomBytes(4).toString('hex')}`;
  const children: ChildNode[] = [];
  try {
    for (const n of ctx.plan.childNs) {
      const ids = Array.from({ length: n - children.length }, (_, i) => `node-${String(children.length + i).padStart(3, '0')}`);
      ctx.log(`spawning ${ids.length} node processes (cluster of ${n})`);
      const spawned = await spawnChildren({ redis: ctx.redisUrl, namespace }, ids);
      children.push(...spawned);
      const leader = await leaderOf(children);
      for (const c of spawned) if (c !== leader) await join(leader, c.id);
      await until(
        async () => {
          const views = await Promise.all(children.map(async (c) => [await c.call<string[]>('nodes'), await c.call<number>('version')] as const));
          return views.every(([nodes, v]) => nodes.length === n && v === views[0]![1]);
        },
        60_000,
        `a cluster of ${n} child nodes`,
        100,
      );
      if (rig) await guard(ctx, `floor n=${n}`, () => rig.measureAt(n));
      await guard(ctx, `process-per-node n=${n}`, () => measureAt(ctx, namespace, children, n));
    }
  } finally {
    await stopChildren(children);
  }
}

/** A join can time out on a machine this busy: try again, a few times. */
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

/** 'start': every child starts counting its CPU time; 'stop': each child's CPU time since (µs, user + system). */
async function cpuOf(children: readonly ChildNode[], what: 'start' | 'stop'): Promise<Map<ChildNode, number>> {
  const out = new Map<ChildNode, number>();
  await Promise.all(
    children.map(async (c) => {
      if (what === 'start') await c.call('profile', 'start', 'cpu');
      else {
        const u = await c.call<{ userUs: number; systemUs: number }>('profile', 'stop');
        out.set(c, u.userUs + u.systemUs);
      }
    }),
  );
  return out;
}

async function leaderOf(children: readonly ChildNode[]): Promise<ChildNode> {
  const id = await children[0]!.call<string>('leader');
  const leader = children.find((c) => c.id === id);
  if (!leader) throw new Error(`the leader ${id} is none of the children`);
  return leader;
}

async function measureAt(ctx: Ctx, namespace: string, children: readonly ChildNode[], n: number): Promise<void> {
  const { plan, marks, results } = ctx;
  const leader = await leaderOf(children);
  const others = children.filter((c) => c !== leader);
  const nonLeader = others[0]!;

  await guard(ctx, `warm-up n=${n}`, async () => {
    ctx.log(`warm-up: ${WARM_UP_WRITES_PER_NODE} writes from each of the ${n} node processes at once`);
    await Promise.all(children.map((c) => runLoop(c, { op: 'set', count: WARM_UP_WRITES_PER_NODE, maxMs: 60_000, payload: PAYLOAD, from: marks.reserve(WARM_UP_WRITES_PER_NODE) })));
    await settle(children);
  });

  for (const from of ['non-leader', 'leader'] as const) {
    await guard(ctx, `convergence n=${n} from the ${from}`, async () => {
      const runs = plan.convergenceRuns(n);
      ctx.log(`convergence, ${n} node processes, ${runs} writes from ${from === 'leader' ? 'the leader' : 'the non-leaders in turn'}`);
      const before = await trafficOfChildren(children);
      await cpuOf(children, 'start');
      const { value: r, evalshaUs } = await scriptTimeDuring(ctx.redisUrl, () => measureConvergence(children, (i) => (from === 'leader' ? leader : others[i % others.length]!), runs, marks));
      const used = await cpuOf(children, 'stop');
      const after = await trafficOfChildren(children);
      const receiverCpuUs = others.reduce((a, c) => a + (used.get(c) ?? Number.NaN), 0) / others.length / r.writes;
      results.convergence.push({
        impl: 'simple-gossip',
        placement: 'process-per-node',
        n,
        from,
        runs,
        timeouts: r.timeouts,
        errors: r.errors,
        latencyMs: summarize(r.latencies),
        // The warm-up writes are in the traffic too.
        perUpdate: perUpdate(before, after, r.writes),
        ...(r.breakdown ? { breakdown: r.breakdown } : {}),
        redisScriptUs: evalshaUs,
        ...(from === 'leader' ? { receiverCpuUs } : {}),
        load1: load1(),
      });
    });
  }

  for (const [from, child] of [
    ['non-leader', nonLeader],
    ['leader', leader],
  ] as const) {
    // Unreported: the first back-to-back run after idle samples is slower whichever node writes.
    await guard(ctx, `throughput warm-up n=${n} ${from}`, async () => {
      await runLoop(child, { op: 'set', count: 300, maxMs: plan.throughputMs, payload: PAYLOAD, from: marks.reserve(300) });
      await settle(children);
    });
    for (const inFlight of [1, 64]) {
      await guard(ctx, `throughput n=${n} ${from} ${inFlight}`, async () => {
        ctx.log(`throughput, ${n} node processes, from the ${from}, ${inFlight} in flight (the best of ${THROUGHPUT_SEGMENTS} runs)`);
        const run = async () => {
          await cpuOf(children, 'start');
          const { value: r, evalshaUs } = await scriptTimeDuring(ctx.redisUrl, () =>
            runLoop(child, { op: 'set', count: 10_000_000, concurrency: inFlight, maxMs: plan.throughputMs, payload: PAYLOAD, from: marks.reserve(10_000_000) }),
          );
          await settle(children);
          const used = await cpuOf(children, 'stop');
          const per = (c: ChildNode) => (used.get(c) ?? Number.NaN) / (r.done || Number.NaN);
          const others = children.filter((c) => c !== child);
          return {
            ...throughputRow('simple-gossip', n, from, inFlight, r, load1()),
            writerCpuUs: per(child),
            receiverCpuUs: others.reduce((a, c) => a + per(c), 0) / others.length,
            redisScriptUs: evalshaUs,
          };
        };
        results.throughput.push(await bestOf(THROUGHPUT_SEGMENTS, run, (row) => row.perSecond));
      });
    }
  }

  await guard(ctx, `lone write after a burst n=${n}`, async () => {
    ctx.log(`a lone write right after a burst (${BURST_WRITES} writes, ${BURST_IN_FLIGHT} in flight), ${n} node processes, ${plan.burstReps} times, from a non-leader`);
    const r = await measureLoneAfterBurst(children, nonLeader, plan.burstReps, marks);
    results.loneAfterBurst.push({
      n,
      from: 'non-leader',
      reps: plan.burstReps,
      burst: BURST_WRITES,
      inFlight: BURST_IN_FLIGHT,
      timeouts: r.timeouts,
      errors: r.errors,
      latencyMs: summarize(r.latencies),
      burstPerSecond: median(r.burstPerSecond),
      load1: load1(),
    });
    await settle(children);
  });

  await guard(ctx, `setSync n=${n}`, async () => {
    ctx.log(`setSync, ${n} node processes, from a non-leader, ${IDLE_MS} ms apart`);
    const r = await runLoop(nonLeader, { op: 'setSync', count: plan.setSyncRuns, maxMs: 120_000, payload: PAYLOAD, from: marks.reserve(plan.setSyncRuns), pauseMs: IDLE_MS });
    results.setSync.push({ n, from: 'non-leader', errors: r.errors, latencyMs: summarize(r.lat) });
  });

  await guard(ctx, `cold start n=${n}`, async () => {
    ctx.log(`cold start next to ${n} live node processes`);
    await coldStartWithPeers(ctx, namespace, children, leader, n);
  });
}
