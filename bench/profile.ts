/**
 * A CPU profile of the write path, for `npm run bench:profile`: a cluster of
 * N nodes in this one process (so one profile holds the leader's work and
 * every receiver's), sequential set() calls from the leader or a non-leader
 * for a few seconds. Run under `node --cpu-prof`; then
 * `tsx bench/profile-summary.ts <dir>` prints where the time went.
 *
 *   node --cpu-prof --cpu-prof-dir=bench/results/profiles --import tsx bench/profile.ts [N=10] [leader|non-leader] [seconds=4]
 */
import { randomBytes } from 'node:crypto';
import { Gossip } from '../lib/index.js';
import { findRedis } from '../tools/redis-server.js';
import { PAYLOAD } from './config.js';
import { pool, until } from './stats.js';

const n = Number(process.argv[2] ?? 10);
const from = process.argv[3] === 'non-leader' ? 'non-leader' : 'leader';
const seconds = Number(process.argv[4] ?? 4);

const redis = await findRedis({ own: true });
const namespace = `bench-profile-${randomBytes(4).toString('hex')}`;
const nodes = await pool(
  Array.from({ length: n }, (_, i) => `n-${String(i).padStart(3, '0')}`),
  10,
  (nodeId) => Gossip.start<typeof PAYLOAD & { seq: number }>({ redis: redis.url, namespace, nodeId }),
);
try {
  for (const x of nodes.slice(1)) await nodes[0]!.join(x.id);
  await until(() => nodes.every((x) => x.nodes.length === n && x.version === nodes[0]!.version), 30_000, 'the cluster');
  const writer = from === 'leader' ? nodes[0]! : nodes[1]!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let writes = 0;
  while (performance.now() - t0 < seconds * 1000) await writer.set({ ...PAYLOAD, seq: writes++ });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await until(() => nodes.every((x) => x.version === writer.version), 30_000, 'every node to catch up');
  const all = process.cpuUsage(cpu0);
  const cpuMs = (all.user + all.system) / 1000;
  console.log(`${n} nodes in one process, sequential set() from the ${from}: ${Math.round(writes / (ms / 1000))} writes/s;`);
  console.log(`CPU of this process per write: ${((cpu.user + cpu.system) / writes).toFixed(0)} µs while writing, ${((cpuMs * 1000) / writes).toFixed(0)} µs until every node had caught up`);
} finally {
  await Promise.allSettled(nodes.map((x) => x.stop()));
  await redis.stop();
}
