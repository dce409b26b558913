/**
 * simple-gossip with every node in this process (many Gossip instances on
 * one event loop, each with its own two Redis connections): convergence of a
 * set() from a non-leader until every node's 'data' event has fired (times
 * from the events themselves, one clock), how long starting every node took,
 * and forming the cluster (clusters merged pairwise: log2 N rounds of joins).
 * Bounded: the largest size gives up after BIG_CLUSTER_BUDGET_MS, recording
 * how far it got.
 */
import { randomBytes } from 'node:crypto';
import { Gossip } from '../lib/index.js';
import { BIG_CLUSTER_BUDGET_MS, CONVERGENCE_TIMEOUT_MS, IDLE_MS, PAYLOAD, WARM_UP } from './config.js';
import { perUpdate, sumTraffic } from './fleet.js';
import { load1 } from './machine.js';
import type { ConvergenceRow, Ctx } from './results.js';
import { now, pool, sleep, summarize, until, within } from './stats.js';

type Data = typeof PAYLOAD & { seq: number };

/** Merges one-node clusters pairwise (each join takes in a whole cluster), `limit` joins at a time. */
export async function formCluster<T>(nodes: readonly Gossip<T>[], limit = 16, deadline = Number.POSITIVE_INFINITY): Promise<void> {
  let clusters = nodes.map((x) => [x]);
  while (clusters.length > 1) {
    if (now() > deadline) throw new Error(`forming the cluster ran out of time with ${clusters.length} clusters left`);
    const pairs: Array<[Gossip<T>[], Gossip<T>[] | undefined]> = [];
    for (let i = 0; i < clusters.length; i += 2) pairs.push([clusters[i]!, clusters[i + 1]]);
    clusters = await pool(pairs, limit, async ([a, b]) => {
      if (!b) return a;
      for (let attempt = 1; ; attempt++) {
        try {
          await a[0]!.join(b[0]!.id);
          break;
        } catch (err) {
          if (attempt >= 4) throw err;
          await sleep(100 * attempt);
        }
      }
      return [...a, ...b];
    });
  }
  const first = nodes[0]!;
  await until(
    () => nodes.every((x) => x.nodes.length === nodes.length && x.version === first.version),
    Math.max(1_000, Math.min(120_000, deadline - now())),
    `a cluster of ${nodes.length} nodes in this process`,
    20,
  );
}

export async function inProcessConvergence(ctx: Ctx, n: number): Promise<void> {
  const namespace = `bench-inproc-${randomBytes(4).toString('hex')}`;
  const ids = Array.from({ length: n }, (_, i) => `p-${String(i).padStart(4, '0')}`);
  const big = n > 100;
  const deadline = big ? now() + BIG_CLUSTER_BUDGET_MS : Number.POSITIVE_INFINITY;
  const runs = ctx.plan.convergenceRuns(n);
  const warmUp = big ? 5 : WARM_UP;
  ctx.log(`in-process: starting ${n} nodes`);
  const t0 = now();
  const nodes: Gossip<Data>[] = [];
  let startMs: number | undefined;
  let formMs: number | undefined;
  const row = (latencies: number[], extra: Partial<ConvergenceRow>): ConvergenceRow => ({
    impl: 'simple-gossip',
    placement: 'in-process',
    n,
    from: 'non-leader',
    runs,
    timeouts: 0,
    errors: 0,
    latencyMs: summarize(latencies),
    load1: load1(),
    ...(startMs === undefined ? {} : { startMs }),
    ...(formMs === undefined ? {} : { formMs }),
    ...extra,
  });
  try {
    await pool(ids, 20, async (nodeId) => {
      if (now() > deadline) throw new Error(`starting ${n} nodes ran out of time at ${nodes.length}`);
      nodes.push(await Gossip.start<Data>({ redis: ctx.redisUrl, namespace, nodeId }));
    });
    startMs = now() - t0;
    ctx.log(`in-process: ${n} nodes started in ${(startMs / 1000).toFixed(1)} s; forming the cluster`);
    const t1 = now();
    nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
    await formCluster(nodes, 16, deadline);
    formMs = now() - t1;
    ctx.log(`in-process: a cluster of ${n} formed in ${(formMs / 1000).toFixed(1)} s; convergence, ${runs} writes from non-leaders`);
    const leader = nodes[0]!.leader;
    const others = nodes.filter((x) => x.id !== leader);

    const seen = new Map<string, number>();
    let target: { mark: number; left: number; resolve: (t: number) => void } | undefined;
    for (const node of nodes) {
      node.subscribe(({ data }) => {
        const at = now();
        const mark = data?.seq ?? 0;
        const had = seen.get(node.id) ?? 0;
        if (mark <= had) return;
        seen.set(node.id, mark);
        if (!target || mark < target.mark || had >= target.mark) return;
        if (--target.left > 0) return;
        const t = target;
        target = undefined;
        t.resolve(at);
      });
    }

    const before = sumTraffic(nodes.map((x) => x.metrics()));
    const latencies: number[] = [];
    let timeouts = 0;
    let errors = 0;
    let writes = 0;
    let note: string | undefined;
    for (let i = 0; i < warmUp + runs; i++) {
      if (now() > deadline) {
        note = `gave up after ${(BIG_CLUSTER_BUDGET_MS / 1000).toFixed(0)} s with ${latencies.length} samples`;
        break;
      }
      const mark = ctx.marks.next();
      const arrived = new Promise<number>((resolve) => (target = { mark, left: n, resolve }));
      const writer = others[i % others.length]!;
      writes++;
      const sent = now();
      const written = writer.set({ ...PAYLOAD, seq: mark }).then(
        () => false,
        () => true,
      );
      const t = await within(arrived, CONVERGENCE_TIMEOUT_MS);
      target = undefined;
      const failed = await written;
      if (i >= warmUp) {
        if (failed) errors++;
        else if (t === undefined) timeouts++;
        else latencies.push(t - sent);
      }
      await sleep(t === undefined ? 100 : IDLE_MS);
    }
    const after = sumTraffic(nodes.map((x) => x.metrics()));
    ctx.results.convergence.push(row(latencies, { timeouts, errors, perUpdate: perUpdate(before, after, writes), ...(note ? { note } : {}) }));
  } catch (err) {
    // A size that did not get as far as measuring still says how far it got.
    ctx.results.convergence.push(row([], { note: `${(err as Error).message.split('\n')[0]} (${nodes.length} of ${n} nodes started)` }));
    throw err;
  } finally {
    ctx.log(`in-process: stopping ${nodes.length} nodes`);
    await within(
      pool(nodes, 50, (x) => x.stop().catch(() => undefined)),
      120_000,
    );
  }
}
