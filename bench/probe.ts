/**
 * A quick probe for working on performance: one cluster of N child-process
 * nodes, then convergence, sequential sets from the leader and a non-leader,
 * and setSync — the few figures `npm run bench` takes minutes for.
 *
 *   npx tsx bench/probe.ts [N=3] [--no-fencing] [--runs=300] [--only=conv,leader,nonleader,sync]
 */
import { randomBytes } from 'node:crypto';
import { findRedis } from '../tools/redis-server.js';
import { Marks, PAYLOAD } from './config.js';
import { killChildren, measureConvergence, perUpdate, runLoop, sentByChildren, settle, spawnChildren } from './fleet.js';
import { summarize, until } from './stats.js';

const args = process.argv.slice(2);
const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
const fencing = !args.includes('--no-fencing');
const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 300);
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',') ?? ['conv', 'leader', 'nonleader', 'sync'];

const redis = await findRedis({ own: true });
const namespace = `probe-${randomBytes(4).toString('hex')}`;
const ids = Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`);
const children = await spawnChildren({ redis: redis.url, namespace, ...(fencing ? {} : { options: { fencing: false } }) }, ids);
const fmt = (s: { p50: number; p95: number }) => `p50 ${s.p50.toFixed(2)} p95 ${s.p95.toFixed(2)} ms`;
try {
  const leaderId = await children[0]!.call<string>('leader');
  const leader = children.find((c) => c.id === leaderId)!;
  for (const c of children) if (c !== leader) await leader.call('join', c.id);
  await until(async () => (await Promise.all(children.map((c) => c.call<string[]>('nodes')))).every((x) => x.length === n), 30_000, 'cluster');
  await settle(children);
  const others = children.filter((c) => c !== leader);
  const marks = new Marks();
  console.log(`N=${n} fencing=${fencing}`);
  if (only.includes('conv')) {
    const before = await sentByChildren(children);
    const r = await measureConvergence(children, (i) => others[i % others.length]!, runs, marks);
    const pu = perUpdate(before, await sentByChildren(children), runs);
    console.log(`convergence ${fmt(summarize(r.latencies))} timeouts ${r.timeouts} errors ${r.errors}; per update ${JSON.stringify(pu)}`);
  }
  for (const [name, child] of [['leader', leader], ['nonleader', others[0]!]] as const) {
    if (!only.includes(name)) continue;
    const r = await runLoop(child, { op: 'set', count: 10_000_000, concurrency: 1, maxMs: 1500, payload: PAYLOAD, from: marks.reserve(10_000_000) });
    console.log(`sequential sets from the ${name}: ${Math.round(r.done / (r.ms / 1000))}/s, ${fmt(summarize(r.lat))}, errors ${r.errors}`);
    await settle(children);
  }
  if (only.includes('sync')) {
    const r = await runLoop(others[0]!, { op: 'setSync', count: 100, maxMs: 60_000, payload: PAYLOAD, from: marks.reserve(100) });
    console.log(`setSync ${fmt(summarize(r.lat))}, errors ${r.errors}`);
  }
} finally {
  await killChildren(children);
  await redis.stop();
}
