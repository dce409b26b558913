/**
 * `npm run demo`: three nodes share one value over Redis. Each writes in turn
 * and the demo shows how long every write took to reach the other two; then
 * the leader stops, a survivor writes, and the cluster carries on without it.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Gossip } from '../lib/index.js';
import { Keys } from '../lib/transport/keys.js';
import { findRedis, HOW_TO_GET_REDIS } from '../tools/redis-server.js';
import type { RedisHandle } from '../tools/redis-server.js';

/** The shared value: a small config object. */
interface Config {
  readonly counter: number;
  readonly writtenBy: string;
  readonly featureFlags: Readonly<Record<string, boolean>>;
}

const SAFETY_TIMEOUT_MS = 30_000;
const ARRIVAL_TIMEOUT_MS = 5_000;
const IDS = ['alpha', 'beta', 'gamma'] as const;

// Whatever happens below, the demo never hangs.
setTimeout(() => {
  console.error(`demo: gave up after ${SAFETY_TIMEOUT_MS / 1000} s`);
  process.exit(2);
}, SAFETY_TIMEOUT_MS).unref();

async function main(): Promise<number> {
  let redis: RedisHandle;
  try {
    redis = await findRedis();
  } catch {
    console.error(HOW_TO_GET_REDIS);
    return 1;
  }
  if (!(await reachable(redis.url))) {
    console.error(`Cannot reach the Redis at ${redis.url}. ${HOW_TO_GET_REDIS}`);
    await redis.stop();
    return 1;
  }
  const namespace = `demo-${randomBytes(4).toString('hex')}`;
  const nodes: Gossip<Config>[] = [];
  try {
    console.log(`redis: ${redis.url} (${describe(redis.source)}), namespace ${namespace}`);
    for (const nodeId of IDS) {
      nodes.push(await Gossip.start<Config>({ redis: redis.url, namespace, nodeId, rpcTimeoutMs: 1_000, gossipIntervalMs: 1_000, statusTimeoutMs: 500 }));
    }
    const [first, ...rest] = nodes as [Gossip<Config>, ...Gossip<Config>[]];
    for (const n of rest) await first.join(n.id);
    await until(() => nodes.every((n) => n.nodes.length === IDS.length && n.version === first.version), 'the cluster to form');
    console.log(`cluster: ${first.nodes.join(', ')}; leader ${first.leader}`);
    console.log('');
    console.log('each node writes in turn; times are from the start of set():');

    let counter = 0;
    for (const writer of nodes) {
      await writeAndTime(writer, nodes, ++counter);
    }

    const leader = nodes.find((n) => n.id === n.leader)!;
    console.log('');
    console.log(`stopping the leader, ${leader.id}`);
    await leader.stop();
    const survivors = nodes.filter((n) => n !== leader);
    const writer = survivors[0]!;
    await writeAndTime(writer, survivors, ++counter);
    const views = survivors.map((n) => `${n.id} says ${n.leader}`).join(', ');
    console.log(`new leader: ${writer.leader} (${views})`);

    const status = await survivors[1]!.status();
    console.log(`status() on ${survivors[1]!.id}: ${JSON.stringify(status)}`);
    if (!status.ok && status.error === 'timeout') {
      console.log(`  (${status.unresponsive.join(', ')} stopped without leaving the cluster, so it is reported as unresponsive)`);
    }
    return 0;
  } catch (err) {
    console.error(`demo failed: ${(err as Error).stack ?? String(err)}`);
    return 1;
  } finally {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    await removeSnapshots(redis, namespace);
    await redis.stop();
  }
}

/** `writer` writes the next config; prints how long it took to show up on every other node. */
async function writeAndTime(writer: Gossip<Config>, members: readonly Gossip<Config>[], counter: number): Promise<void> {
  const others = members.filter((n) => n !== writer);
  // Subscribe everywhere before writing, so no arrival can be missed.
  const arrivals = others.map((n) => arrival(n, counter));
  // If set() fails, nobody awaits these: do not let them turn into unhandled rejections.
  for (const a of arrivals) a.catch(() => undefined);
  const value: Config = { counter, writtenBy: writer.id, featureFlags: { darkMode: counter % 2 === 0 } };
  const t0 = performance.now();
  await writer.set(value);
  const applied = performance.now() - t0;
  const times = await Promise.all(arrivals.map((a) => a.then((t) => t - t0)));
  const reached = others.map((n, i) => `${n.id} +${ms(times[i]!)}`).join(', ');
  console.log(`${writer.id} wrote counter=${counter}: set() resolved in ${ms(applied)}; reached ${reached}`);
}

/** Resolves with the performance.now() at which `node` first holds `counter`. */
function arrival(node: Gossip<Config>, counter: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`counter=${counter} did not reach ${node.id} within ${ARRIVAL_TIMEOUT_MS} ms`));
    }, ARRIVAL_TIMEOUT_MS);
    timer.unref();
    const off = node.subscribe(({ data }) => {
      if (data?.counter !== counter) return;
      const t = performance.now();
      clearTimeout(timer);
      off();
      resolve(t);
    }, 'data');
  });
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A REDIS_URL may point nowhere; Gossip.start() would wait for it forever. */
async function reachable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A Redis the demo did not start keeps running: leave nothing of the demo's in it. */
async function removeSnapshots(redis: RedisHandle, namespace: string): Promise<void> {
  if (redis.source !== 'env') return;
  const keys = new Keys(namespace);
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.del(...IDS.map((id) => keys.snapshot(id)));
  } catch {
    // Best effort: the keys are namespaced and harmless.
  } finally {
    client.disconnect();
  }
}

function describe(source: RedisHandle['source']): string {
  switch (source) {
    case 'env':
      return 'from REDIS_URL';
    case 'binary':
      return 'a throwaway redis-server';
    case 'container':
      return 'a throwaway container';
  }
}

function ms(x: number): string {
  return `${x.toFixed(2)} ms`;
}

process.exitCode = await main();
