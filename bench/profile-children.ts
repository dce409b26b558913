/**
 * CPU profiles of one node per process, taken only while the measured work
 * runs (the child's `profile` command: node:inspector in the child, so the
 * profile holds no start-up or module loading): a cluster of N child nodes,
 * warmed up, then sequential set() calls from a non-leader (`seq`),
 * 64 in flight (`burst`), or idle convergence samples from one non-leader
 * (`conv`) or from the non-leaders in turn (`rot`, as the bench's). Prints the
 * CPU time per write of the writer, of the receivers and of Redis (INFO cpu),
 * then where the writer's and one receiver's time went.
 *
 *   npx tsx bench/profile-children.ts [N=10] [seq|burst|conv|rot] [seconds=3] [out-dir] [--cpu-only]
 *
 * --cpu-only: no profiler (its sampling costs CPU too), only the CPU time per write.
 */
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { findRedis } from '../tools/redis-server.js';
import { Marks, PAYLOAD } from './config.js';
import { killAll, measureConvergence, runLoop, settle, spawnChildren, stopChildren } from './fleet.js';
import { summarizeProfile } from './profile-summary.js';
import { until } from './stats.js';

const cpuOnly = process.argv.includes('--cpu-only');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const n = Number(args[0] ?? 10);
const what = (args[1] ?? 'seq') as 'seq' | 'burst' | 'conv' | 'rot';
const seconds = Number(args[2] ?? 3);
/** Enough writes that every receiver's path is optimised (500 left much of it in the baseline tiers). */
const WARM_UP_WRITES = 3_000;
const dir = args[3] ?? join(fileURLToPath(new URL('./results/profiles/', import.meta.url)), `children-${n}-${what}-${Date.now()}`);
mkdirSync(dir, { recursive: true });

process.on('exit', killAll);
// Piped into `head`, a closed stdout must not end the process before its clean-up (its redis-server, its children).
process.stdout.on('error', () => undefined);
const server = await findRedis({ own: true });
const redisCpu = async (r: Redis) => {
  const info = await r.info('cpu');
  const f = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return (f('used_cpu_user') + f('used_cpu_sys')) * 1e6;
};
const info = new Redis(server.url);
const children = await spawnChildren(
  { redis: server.url, namespace: `prof-${randomBytes(4).toString('hex')}` },
  Array.from({ length: n }, (_, i) => `node-${String(i).padStart(3, '0')}`),
);
try {
  const leaderId = await children[0]!.call<string>('leader');
  const leader = children.find((c) => c.id === leaderId)!;
  for (const c of children) if (c !== leader) await leader.call('join', c.id);
  await until(async () => (await Promise.all(children.map((c) => c.call<string[]>('nodes')))).every((x) => x.length === n), 30_000, 'cluster');
  const writer = children.find((c) => c !== leader)!;
  const marks = new Marks();
  // Warm up (JIT) the write path and every receiver.
  await runLoop(writer, { op: 'set', count: WARM_UP_WRITES, payload: PAYLOAD, from: marks.reserve(WARM_UP_WRITES) });
  await settle(children);

  await Promise.all(children.map((c) => c.call('profile', 'start', ...(cpuOnly ? ['cpu'] : []))));
  const cpu0 = await redisCpu(info);
  let writes = 0;
  if (what === 'conv' || what === 'rot') {
    const others = children.filter((c) => c !== leader);
    const r = await measureConvergence(children, (i) => (what === 'rot' ? others[i % others.length]! : writer), Math.round(seconds * 200), marks, 0);
    writes = r.writes;
    console.log(`convergence p50 ${[...r.latencies].sort((a, b) => a - b)[Math.floor(r.latencies.length / 2)]?.toFixed(2)} ms over ${r.latencies.length}`);
  } else {
    const r = await runLoop(writer, { op: 'set', count: 10_000_000, concurrency: what === 'burst' ? 64 : 1, maxMs: seconds * 1000, payload: PAYLOAD, from: marks.reserve(10_000_000) });
    writes = r.done;
    console.log(`${r.done} writes in ${(r.ms / 1000).toFixed(2)} s: ${Math.round(r.done / (r.ms / 1000))}/s`);
  }
  await settle(children);
  const redisUs = (await redisCpu(info)) - cpu0;
  const used = await Promise.all(children.map((c) => c.call<{ userUs: number; systemUs: number }>('profile', 'stop', join(dir, `${c.id}${c === writer ? '-writer' : ''}.cpuprofile`))));
  const us = (u: { userUs: number; systemUs: number }) => (u.userUs + u.systemUs) / writes;
  const receivers = used.filter((_, i) => children[i] !== writer);
  const recvUs = receivers.reduce((a, u) => a + us(u), 0);
  console.log(`per process (µs per write): ${children.map((c, i) => `${c.id}${c === writer ? ' (writer)' : c === leader ? ' (leader)' : ''} ${us(used[i]!).toFixed(0)}`).join(', ')}`);
  console.log(`all ${n} processes: ${used.reduce((a, u) => a + us(u), 0).toFixed(0)} µs per write`);
  console.log(
    `N=${n}, ${what}, from a non-leader: CPU per write — writer ${us(used[children.indexOf(writer)]!).toFixed(0)} µs, each receiver ${(recvUs / receivers.length).toFixed(0)} µs (all ${n - 1}: ${recvUs.toFixed(0)} µs), Redis ${(redisUs / writes).toFixed(0)} µs`,
  );
  if (!cpuOnly) {
    console.log(`\n--- the writer (${writer.id}) ---\n${summarizeProfile(join(dir, `${writer.id}-writer.cpuprofile`), 20)}`);
    const other = children.find((c) => c !== writer && c !== leader) ?? leader;
    console.log(`\n--- a receiver (${other.id}) ---\n${summarizeProfile(join(dir, `${other.id}.cpuprofile`), 20)}`);
    console.log(`\nprofiles in ${dir}`);
  }
} finally {
  info.disconnect();
  await stopChildren(children);
  await server.stop();
}
