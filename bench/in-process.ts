/**
 * simple-gossip with every node in this process (many Gossip instances on
 * one event loop, each with its own two Redis connections): convergence and
 * messages per update. Times come from each node's own 'data' event.
 */
import { randomBytes } from 'node:crypto';
import { Gossip } from '../lib/index.js';
import { CONVERGENCE_TIMEOUT_MS, PAYLOAD } from './config.js';
import { perUpdate, sumSent } from './fleet.js';
import { load1 } from './machine.js';
import type { Ctx } from './results.js';
import { now, pool, sleep, summarize, until, within } from './stats.js';

type Data = typeof PAYLOAD & { seq: number };

export async function inProcessConvergence(ctx: Ctx, n: number): Promise<void> {
  const namespace = `bench-inproc-${randomBytes(4).toString('hex')}`;
  const ids = Array.from({ length: n }, (_, i) => `p-${String(i).padStart(3, '0')}`);
  ctx.log(`convergence, ${n} nodes in this process`);
  const nodes = await pool(ids, 10, (nodeId) => Gossip.start<Data>({ redis: ctx.redisUrl, namespace, nodeId }));
  try {
    const first = nodes[0]!;
    for (const node of nodes.slice(1)) await first.join(node.id);
    await until(() => nodes.every((x) => x.nodes.length === n && x.version === first.version), 60_000, `a cluster of ${n} nodes in this process`);
    const others = nodes.filter((x) => x.id !== first.leader);

    const seen = new Map<string, number>();
    let target: { mark: number; resolve: (t: number) => void } | undefined;
    for (const node of nodes) {
      node.subscribe(({ data }) => {
        const mark = data?.seq ?? 0;
        if (mark > (seen.get(node.id) ?? 0)) seen.set(node.id, mark);
        if (!target) return;
        for (const x of nodes) if ((seen.get(x.id) ?? 0) < target.mark) return;
        const t = target;
        target = undefined;
        t.resolve(now());
      });
    }

    const runs = ctx.plan.convergenceRuns(n);
    const before = sumSent(nodes.map((x) => x.metrics()));
    const latencies: number[] = [];
    let timeouts = 0;
    let errors = 0;
    for (let i = 0; i < runs; i++) {
      const mark = ctx.marks.next();
      const arrived = new Promise<number>((resolve) => (target = { mark, resolve }));
      const writer = others[i % others.length]!;
      const t0 = now();
      const written = writer.set({ ...PAYLOAD, seq: mark }).then(() => false, () => true);
      const t1 = await within(arrived, CONVERGENCE_TIMEOUT_MS);
      target = undefined;
      if (t1 === undefined) timeouts++;
      else latencies.push(t1 - t0);
      if (await written) errors++;
      await sleep(t1 === undefined ? 100 : 2);
    }
    const after = sumSent(nodes.map((x) => x.metrics()));
    ctx.results.convergence.push({
      impl: 'simple-gossip',
      placement: 'in-process',
      n,
      runs,
      timeouts,
      errors,
      latencyMs: summarize(latencies),
      perUpdate: perUpdate(before, after, runs),
      load1: load1(),
    });
  } finally {
    await Promise.allSettled(nodes.map((x) => x.stop()));
  }
}
