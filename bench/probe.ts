/**
 * A quick probe for working on performance: one cluster of N child-process
 * nodes, then convergence from a non-leader and from the leader, sequential
 * sets from either, a lone write after a burst, and setSync — the few
 * figures `npm run bench` takes minutes for. Stamped as the bench does
 * (process.hrtime in the children). No floor: run `npx tsx bench/floor.ts`
 * alongside for it.
 *
 *   npx tsx bench/probe.ts [N=3] [--runs=300] [--only=conv,leaderconv,leader,nonleader,burst,sync] [--fixed]
 *
 * --fixed: 'conv' writes from one non-leader only, instead of the non-leaders in turn.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { findRedis } from '../tools/redis-server.js';
import { Marks, PAYLOAD } from './config.js';
import { killAll, measureConvergence, measureLoneAfterBurst, perUpdate, runLoop, settle, spawnChildren, stopChildren, trafficOfChildren } from './fleet.js';
import { summarize, until } from './stats.js';

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 300);
const fixed = args.includes('--fixed');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',') ?? ['conv', 'leaderconv', 'leader', 'nonleader', 'burst', 'sync'];

process.on('exit', killAll);
// Piped into `head`, a closed stdout must not end the process before its clean-up (its redis-server, its children).
process.stdout.on('error', () => undefined);
const redis = await findRedis({ own: true });
const namespace = `probe-${randomBytes(4).toString('hex')}`;
const ids = Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`);
const children = await spawnChildren({ redis: redis.url, namespace }, ids);
const fmt = (s: { p50: number; p95: number }) => `p50 ${s.p50.toFixed(2)} p95 ${s.p95.toFixed(2)} ms`;
try {
  const leaderId = await children[0]!.call<string>('leader');
  const leader = children.find((c) => c.id === leaderId)!;
  for (const c of children) if (c !== leader) await leader.call('join', c.id);
  await until(async () => (await Promise.all(children.map((c) => c.call<string[]>('nodes')))).every((x) => x.length === n), 30_000, 'cluster');
  await settle(children);
  const others = children.filter((c) => c !== leader);
  const marks = new Marks();
  console.log(`N=${n}`);
  const admin = new Redis(redis.url);
  /** Redis's own time per command since the last call (INFO commandstats, then CONFIG RESETSTAT). */
  const commandStats = async () => {
    const info = await admin.info('commandstats');
    await admin.config('RESETSTAT');
    return info
      .split('\n')
      .map((l) => /^cmdstat_(\w+):calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ cmd: m[1]!, calls: Number(m[2]), usecPerCall: Number(m[4]) }))
      .filter((x) => x.calls > 10)
      .sort((a, b) => (b.cmd === 'evalsha' ? 1 : 0) - (a.cmd === 'evalsha' ? 1 : 0) || b.calls - a.calls)
      .slice(0, 8)
      .map((x) => `${x.cmd} ${x.calls}× ${x.usecPerCall.toFixed(1)} µs`)
      .join(', ');
  };
  await commandStats();
  for (const [name, pick] of [
    ['conv', (i: number) => others[fixed ? 0 : i % others.length]!],
    ['leaderconv', () => leader],
  ] as const) {
    if (!only.includes(name)) continue;
    const before = await trafficOfChildren(children);
    const r = await measureConvergence(children, pick, runs, marks);
    const pu = perUpdate(before, await trafficOfChildren(children), r.writes);
    console.log(
      `convergence from ${name === 'conv' ? 'non-leaders' : 'the leader'}: ${fmt(summarize(r.latencies))} timeouts ${r.timeouts} errors ${r.errors}; received/update ${pu.received.toFixed(1)} (${Math.round(pu.receivedBytes)} B), sent/update ${pu.sent.toFixed(2)}`,
    );
    console.log(`  in Redis: ${await commandStats()}`);
    if (r.breakdown)
      console.log(
        `  medians from the writer's stamp: set() resolved ${r.breakdown.writerSetResolved.toFixed(2)}, its data event ${r.breakdown.writerData.toFixed(2)}, first other node ${r.breakdown.firstReceiver.toFixed(2)}, last ${r.breakdown.lastReceiver.toFixed(2)} ms`,
      );
  }
  for (const [name, child] of [
    ['leader', leader],
    ['nonleader', others[0]!],
  ] as const) {
    if (!only.includes(name)) continue;
    for (const inFlight of [1, 64]) {
      const r = await runLoop(child, { op: 'set', count: 10_000_000, concurrency: inFlight, maxMs: 1500, payload: PAYLOAD, from: marks.reserve(10_000_000) });
      console.log(`sets from the ${name}, ${inFlight} in flight: ${Math.round(r.done / (r.ms / 1000))}/s, ${fmt(summarize(r.lat))}, errors ${r.errors}`);
      console.log(`  in Redis: ${await commandStats()}`);
      await settle(children);
    }
  }
  if (only.includes('burst')) {
    const r = await measureLoneAfterBurst(children, others[0]!, 20, marks);
    console.log(`a lone write right after a burst: ${fmt(summarize(r.latencies))} timeouts ${r.timeouts} errors ${r.errors}`);
    await settle(children);
  }
  if (only.includes('sync')) {
    const r = await runLoop(others[0]!, { op: 'setSync', count: 100, maxMs: 60_000, payload: PAYLOAD, from: marks.reserve(100) });
    console.log(`setSync ${fmt(summarize(r.lat))}, errors ${r.errors}`);
  }
  admin.disconnect();
} finally {
  await stopChildren(children);
  await redis.stop();
}
