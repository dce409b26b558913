/**
 * `npm run bench` (quick mode) and `npm run bench -- --full`: simple-gossip v2
 * against a real Redis (its own redis-server when the binary exists), next to
 * this machine's floor measured in the same run (at each N right before the
 * library at that N), the Erlang original's
 * and v1's figures, and the naive SET + PUBLISH alternative; issue 10's
 * targets checked at the end.
 * Prints the tables, writes bench/results/<date>-<mode>.json and latest.json,
 * and draws bench/results/convergence-<mode>.svg (and convergence.svg, the latest). Never hangs: every wait has a
 * timeout, the whole run has a deadline, and child processes are killed on
 * any exit. `npx tsx bench/floor.ts [--full]` runs just the floor.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findRedis, HOW_TO_GET_REDIS } from '../tools/redis-server.js';
import type { RedisHandle } from '../tools/redis-server.js';
import { coldStartAlone } from './cold-start.js';
import { redisTraffic } from './redis-traffic.js';
import { FloorRig, killFloorChildren } from './floor.js';
import { BURST_IN_FLIGHT, BURST_WRITES, Marks, PLANS, WARM_UP } from './config.js';
import type { Mode } from './config.js';
import { killAll } from './fleet.js';
import { gossipChildren } from './gossip-children.js';
import { inProcessConvergence } from './in-process.js';
import { describeMachine, load1 } from './machine.js';
import { naive } from './naive.js';
import { convergenceSvg } from './plot.js';
import { reads } from './reads.js';
import { guard } from './results.js';
import type { Ctx, NaiveRatioRow, Results } from './results.js';
import { now, within } from './stats.js';
import { renderTables } from './table.js';
import { computeTargets } from './targets.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function parseMode(argv: readonly string[]): Mode {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(
      'usage: npm run bench [-- --full]\n  quick (default): N = 3, 10, 25 one node per process, 25, 100, 1000 in one process; about two minutes\n  --full (or npm run bench:full): N = 3, 10, 25 one node per process, 25, 100, 1000 in one process, more samples; about five minutes\n  npx tsx bench/floor.ts [--full]: just the floor',
    );
    process.exit(0);
  }
  return argv.includes('--full') ? 'full' : 'quick';
}

let redis: RedisHandle | undefined;

async function cleanUp(): Promise<void> {
  killAll();
  killFloorChildren();
  await within(redis?.stop() ?? Promise.resolve(), 5_000);
}

async function main(): Promise<number> {
  const mode = parseMode(process.argv.slice(2));
  const plan = PLANS[mode];
  const started = now();
  const date = new Date();
  const log = (message: string) => process.stderr.write(`[${((now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

  const deadline = setTimeout(() => {
    log(`gave up after ${plan.deadlineMs / 1000} s`);
    void cleanUp().finally(() => process.exit(2));
  }, plan.deadlineMs);

  try {
    // Its own server, so nothing else shares it; REDIS_URL only when none can be started.
    redis = await findRedis({ own: true }).catch((err: unknown) => {
      if (process.env.REDIS_URL) return findRedis();
      throw err;
    });
  } catch (err) {
    console.error((err as Error).message || HOW_TO_GET_REDIS);
    clearTimeout(deadline);
    return 1;
  }
  log(`redis at ${redis.url} (${redis.source})`);

  const results: Results = {
    meta: {
      date: date.toISOString(),
      mode,
      machine: await describeMachine(redis.url, redis.source),
      redisUrl: redis.url,
      plan: {
        childNs: plan.childNs,
        inProcessNs: plan.inProcessNs,
        naiveNs: plan.naiveNs,
        floorNs: plan.floorNs,
        floorRawNs: plan.floorRawNs,
        convergenceRuns: Object.fromEntries([...new Set([...plan.childNs, ...plan.inProcessNs])].map((n) => [n, plan.convergenceRuns(n)])),
        warmUp: WARM_UP,
        throughputMs: plan.throughputMs,
        burst: { reps: plan.burstReps, writes: BURST_WRITES, inFlight: BURST_IN_FLIGHT },
        setSyncRuns: plan.setSyncRuns,
        coldStartRuns: plan.coldStartRuns,
      },
      durationS: 0,
      load1AtEnd: 0,
      notes: [
        'Redis, the benchmark process and every node process share the same cores; other work running on the machine at the same time shows in the load average.',
        'Default node settings (fanout 2, gossip every 15 s, join manual, event mode auto).',
        'Times between processes are process.hrtime.bigint() stamps taken in the processes themselves (CLOCK_MONOTONIC, one clock for all).',
      ],
    },
    convergence: [],
    throughput: [],
    loneAfterBurst: [],
    setSync: [],
    coldStart: [],
    naiveRatios: [],
    errors: [],
  };
  const ctx: Ctx = { redisUrl: redis.url, plan, marks: new Marks(), results, log };

  try {
    // The floor's hop and PING first; its script floor at each N right before the library at that N.
    const rig = new FloorRig(ctx);
    await guard(ctx, 'floor', async () => void (await rig.start()));
    await guard(ctx, 'reads', () => reads(ctx));
    // Nothing else is connected to Redis now: its INFO byte counters see only this.
    await guard(ctx, 'redis traffic', () => redisTraffic(ctx));
    await guard(ctx, 'cold start', async () => {
      log('cold start without live peers');
      await coldStartAlone(ctx);
    });
    await guard(ctx, 'process per node', () => gossipChildren(ctx, rig));
    await guard(ctx, 'floor, the rest', () => rig.measureRest());
    await guard(ctx, 'floor, stopping', () => rig.stop());
    for (const n of plan.inProcessNs) await guard(ctx, `in-process n=${n}`, () => inProcessConvergence(ctx, n));
    await guard(ctx, 'naive', () => naive(ctx));
    results.naiveRatios = naiveRatios(results);
    results.targets = computeTargets(results);
  } finally {
    await cleanUp();
    clearTimeout(deadline);
  }

  results.meta.durationS = (now() - started) / 1000;
  results.meta.load1AtEnd = load1();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(results, (_, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e4) / 1e4 : v), 2)}\n`;
  const file = `${RESULTS_DIR}${date.toISOString().slice(0, 10)}-${mode}.json`;
  writeFileSync(file, json);
  writeFileSync(`${RESULTS_DIR}latest.json`, json);
  await guard(ctx, 'plot', async () => {
    const svg = await convergenceSvg(results);
    writeFileSync(`${RESULTS_DIR}convergence-${mode}.svg`, svg);
    writeFileSync(`${RESULTS_DIR}convergence.svg`, svg);
  });

  console.log(renderTables(results));
  console.log(`wrote ${file} and latest.json, convergence-${mode}.svg and convergence.svg in bench/results/`);
  return results.errors.length === 0 ? 0 : 1;
}

function naiveRatios(r: Results): NaiveRatioRow[] {
  const out: NaiveRatioRow[] = [];
  for (const nv of r.convergence.filter((c) => c.impl === 'naive')) {
    const sg = r.convergence.find((c) => c.impl === 'simple-gossip' && c.placement === 'process-per-node' && c.from === 'non-leader' && c.n === nv.n);
    const tp = (impl: 'naive' | 'simple-gossip', inFlight: number) =>
      r.throughput.find((t) => t.impl === impl && t.n === nv.n && t.inFlight === inFlight && (impl === 'naive' || t.from === 'non-leader'))?.perSecond ?? Number.NaN;
    if (!sg) continue;
    out.push({
      n: nv.n,
      convergenceP50: nv.latencyMs.p50 / sg.latencyMs.p50,
      convergenceP95: nv.latencyMs.p95 / sg.latencyMs.p95,
      writesPerSecSequential: tp('simple-gossip', 1) / tp('naive', 1),
      writesPerSec64: tp('simple-gossip', 64) / tp('naive', 64),
    });
  }
  return out;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`bench: ${signal}, cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}
process.stdout.on('error', () => undefined);
process.on('exit', () => {
  killAll();
  killFloorChildren();
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench failed:', err);
    void cleanUp().finally(() => process.exit(1));
  },
);
