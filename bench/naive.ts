/**
 * The naive alternative, measured the same way as simple-gossip with one
 * node per process: convergence (from the writer's stamp just before its
 * SET until every node has GOT the value, stamped in each process) and
 * writes per second, sequential and 64 in flight.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ChildNode } from '../spec/support/child-node.js';
import { PAYLOAD, THROUGHPUT_SEGMENTS } from './config.js';
import { killChildren, measureConvergence, runLoop, spawnChildren } from './fleet.js';
import { load1 } from './machine.js';
import { guard, throughputRow } from './results.js';
import type { Ctx } from './results.js';
import { bestOf, sleep, summarize } from './stats.js';

/** Waits until no child's version moves for 300 ms (at most 60 s). */
async function quiesce(children: readonly ChildNode[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    const now = (await Promise.all(children.map((c) => c.call<number>('version')))).join(',');
    if (now === last) return;
    last = now;
    await sleep(300);
  }
}

const SCRIPT = fileURLToPath(new URL('./naive-process.ts', import.meta.url));

export async function naive(ctx: Ctx): Promise<void> {
  const namespace = `bench-naive-${randomBytes(4).toString('hex')}`;
  const children: ChildNode[] = [];
  try {
    for (const n of ctx.plan.naiveNs) {
      const ids = Array.from({ length: n - children.length }, (_, i) => `naive-${String(children.length + i).padStart(3, '0')}`);
      ctx.log(`spawning ${ids.length} naive processes (${n} in all)`);
      children.push(...(await spawnChildren({ redis: ctx.redisUrl, namespace, script: SCRIPT }, ids)));
      await guard(ctx, `naive convergence n=${n}`, async () => {
        const runs = ctx.plan.convergenceRuns(n);
        ctx.log(`naive convergence, ${n} processes, ${runs} writes`);
        const r = await measureConvergence(children, (i) => children[1 + (i % (children.length - 1))]!, runs, ctx.marks);
        ctx.results.convergence.push({
          impl: 'naive',
          placement: 'process-per-node',
          n,
          from: 'any',
          runs,
          timeouts: r.timeouts,
          errors: r.errors,
          latencyMs: summarize(r.latencies),
          ...(r.breakdown ? { breakdown: r.breakdown } : {}),
          load1: load1(),
        });
      });
      for (const inFlight of [1, 64]) {
        await guard(ctx, `naive throughput n=${n} ${inFlight}`, async () => {
          ctx.log(`naive throughput, ${n} processes, ${inFlight} in flight`);
          const run = async () => {
            const r = await runLoop(children[1]!, {
              op: 'set',
              count: 10_000_000,
              concurrency: inFlight,
              maxMs: ctx.plan.throughputMs,
              payload: PAYLOAD,
              from: ctx.marks.reserve(10_000_000),
            });
            // Let the readers drain their GETs before the next run.
            await quiesce(children);
            return throughputRow('naive', n, 'any', inFlight, r, load1());
          };
          ctx.results.throughput.push(await bestOf(THROUGHPUT_SEGMENTS, run, (row) => row.perSecond));
        });
      }
    }
  } finally {
    await killChildren(children);
  }
}
