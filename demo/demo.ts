/**
 * `npm run demo`: a short guided tour of simple-gossip, with three nodes in
 * separate processes (demo/node.ts) sharing one Redis, each serving a tiny
 * HTTP application (demo/app.ts) on 127.0.0.1 whose answer follows the
 * config flag `newCheckout`:
 *   1. they start and find each other (join 'auto');
 *   2. the flag is switched on on one node: every node's HTTP answer changes,
 *      timed in ms from the setCfg call;
 *   3. the leader is killed with SIGKILL and a survivor switches the flag off
 *      at once (no write goes through the leader);
 *   4. it restarts with the same id, recovers from Redis at once, and answers
 *      with the flag as the cluster has it;
 *   5. status, then a clean shutdown.
 * With `--nodes a,b,c` the nodes are not spawned here but run in containers
 * (docker-compose.yml), each driven through its supervisor over Redis.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { StatusResult } from '../lib/index.js';
import { findRedis, HOW_TO_GET_REDIS } from '../tools/redis-server.js';
import type { RedisHandle } from '../tools/redis-server.js';
import { FLAG } from './app.js';
import type { Answer } from './app.js';
import { LocalMember, Member, parse, RemoteMember, withTimeout } from './members.js';
import { outputChannel } from './protocol.js';
import type { HttpAnswer, Output, View, WriteAck } from './protocol.js';

const { values: args } = parseArgs({ options: { nodes: { type: 'string' }, namespace: { type: 'string' } } });
const remoteIds = args.nodes?.split(',').filter(Boolean);
const SAFETY_TIMEOUT_MS = remoteIds ? 120_000 : 30_000; // containers may still be installing
const START_TIMEOUT_MS = remoteIds ? 90_000 : 15_000;

/** What the way out must undo, whatever happened. */
const cleanup: Array<() => unknown> = [];
let members: Member[] = [];

async function finish(): Promise<void> {
  for (const m of members) m.abandon();
  for (const undo of cleanup.splice(0).reverse()) {
    await withTimeout(Promise.resolve().then(undo), 3_000, 'cleanup').catch(() => undefined);
  }
}

// Whatever happens below, the tour never hangs, and leaves nothing running.
setTimeout(() => {
  console.error(`demo: gave up after ${SAFETY_TIMEOUT_MS / 1000} s`);
  void finish().finally(() => process.exit(2));
}, SAFETY_TIMEOUT_MS).unref();
process.once('SIGINT', () => void finish().finally(() => process.exit(130)));

async function main(): Promise<number> {
  const setup = remoteIds ? await remoteSetup(remoteIds) : await localSetup();
  if (!setup) return 1;
  members = setup.members;
  const t0 = performance.now();
  try {
    console.log(`simple-gossip tour: ${setup.where}`);
    console.log(`redis ${setup.redis}, namespace ${setup.namespace}`);
    await tour(members);
    console.log('');
    console.log(`tour done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } catch (err) {
    console.error(`\ndemo failed: ${(err as Error).stack ?? String(err)}`);
    for (const m of members) {
      if (m instanceof LocalMember && m.stderr) console.error(`--- ${m.id} stderr ---\n${m.stderr}`);
    }
    return 1;
  } finally {
    await finish();
  }
}

async function tour(all: Member[]): Promise<void> {
  const n = all.length;

  step(`1. ${count(n)} nodes start, each in its own ${remoteIds ? 'container' : 'process'}, and find each other (join: 'auto')`);
  const tStart = performance.now();
  const readies = await Promise.all(all.map((m) => m.start(START_TIMEOUT_MS)));
  say(readies.map((r, i) => `${all[i]!.id} up in ${ms0(r.bootMs)} (pid ${r.pid})`).join(', '));
  const formed = await until(async () => {
    const views = await viewsOf(all);
    return views.every((v) => v.nodes.length === n && v.version === views[0]!.version) ? views[0] : undefined;
  }, 'the nodes to form one cluster');
  say(`one cluster ${ms0(performance.now() - tStart)} after the start: ${[...formed.nodes].sort().join(', ')}; leader ${formed.leader}, version ${formed.version}`);

  step(`2. Each node serves an application whose answer follows the flag "${FLAG}"; it is switched on on one node`);
  const leader = byId(all, formed.leader);
  const follower = all.find((m) => m !== leader)!;
  const first = await Promise.all(all.map((m) => answer(m)));
  all.forEach((m, i) => say(`GET ${m.url} → ${first[i]!.body}`));
  await timedFlip(follower, all, true, leader.id);

  step(`3. The leader, ${leader.id}, is killed with SIGKILL`);
  const before = await leader.call<View>({ cmd: 'view' });
  const exit = await leader.kill();
  say(`${leader.id} is gone (${exit.signal ?? `exit code ${exit.code}`}) at version ${before.version}: no hand-over, no last word`);
  const survivors = all.filter((m) => m !== leader);
  await timedFlip(survivors[0]!, survivors, false, leader.id);
  // The leader only does housekeeping: a survivor's next tick finds its channel silent and commits a new choice.
  const views = await until(async () => {
    const vs = await viewsOf(survivors);
    return vs.every((v) => v.leader !== leader.id && v.leader === vs[0]!.leader && v.version === vs[0]!.version) ? vs : undefined;
  }, 'the survivors to choose a new leader');
  say(`new leader ${views[0]!.leader} for the housekeeping, chosen at a survivor's next tick; ${views.map((v) => v.id).join(' and ')} agree, at version ${views[0]!.version}`);

  step(`4. ${leader.id} restarts with the same id and recovers from Redis`);
  const back = await leader.start(START_TIMEOUT_MS);
  const cluster = await survivors[0]!.call<View>({ cmd: 'view' });
  say(`up in ${ms0(back.bootMs)} (pid ${back.pid}): version ${back.view.version} at once (the cluster's: ${cluster.version}), leader ${back.view.leader}`);
  say(`its data: ${JSON.stringify(back.view.data)}; GET ${leader.url} → ${(await answer(leader)).body}`);
  say(`(it was at version ${before.version} when killed: it read its node key, then its cluster's state, from Redis and asked no one)`);

  step('5. Status, then a clean shutdown');
  const status = await until(async () => {
    const s = await leader.call<StatusResult>({ cmd: 'status' });
    return s.ok ? s : undefined;
  }, 'status() to report every member at one version');
  say(`status() on ${leader.id}: ok, all ${status.nodes.length} members at version ${status.version}, leader ${status.leader}`);
  const exits = await Promise.all(all.map((m) => m.stop()));
  say(`stopped ${all.map((m, i) => `${m.id} (${exits[i]!.signal ?? `exit ${exits[i]!.code}`})`).join(', ')}`);
  if (exits.some((e) => e.code !== 0)) throw new Error('a node did not stop cleanly');
}

/**
 * `writer` sets the flag to `value`; shows how long the commit took, and how
 * long after the start of the call each member's application first answered
 * differently. The members are polled over HTTP from before the call on.
 */
async function timedFlip(writer: Member, members: readonly Member[], value: boolean, leader: string): Promise<WriteAck> {
  const before = await Promise.all(members.map((m) => answer(m)));
  const polling = new AbortController();
  const changed = members.map((m, i) => firstChange(m, before[i]!.body, polling.signal));
  // Awaited below; until then a poll that fails must not be an unhandled rejection.
  for (const p of changed) p.catch(() => undefined);
  try {
    const ack = await writer.call<WriteAck>({ cmd: 'setCfg', key: FLAG, value });
    const role = leader === writer.id ? 'on the leader' : 'on a member that is not the leader: the same one script';
    say(`${writer.id}: setCfg(${JSON.stringify(FLAG)}, ${value}) committed in Redis in ${ms(ack.t1 - ack.t0)}, ${role}, version ${ack.version}`);
    const after = await Promise.all(changed);
    const checkout = parse<Answer>(after[0]!.body)?.checkout ?? after[0]!.body;
    say(`  every node answers "checkout":"${checkout}" now: ${members.map((m, i) => `${m.id} +${ms(after[i]!.at - ack.t0)}`).join(', ')} (from the start of the call, polled over HTTP)`);
    return ack;
  } finally {
    polling.abort();
    await Promise.allSettled(changed);
  }
}

/** One `GET /` of `m`'s application; anything but a 200 is an error. */
async function answer(m: Member): Promise<HttpAnswer> {
  const a = await m.answer();
  if (a.status !== 200) throw new Error(`${m.id} answered ${a.status}: ${a.body}`);
  return a;
}

/** Polls `m`'s application, one request after the other, until its answer differs from `before`. */
async function firstChange(m: Member, before: string, stop: AbortSignal, timeoutMs = 5_000, maxPolls = 20_000): Promise<HttpAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < maxPolls && Date.now() < deadline && !stop.aborted; i++) {
    const a = await answer(m);
    if (a.body !== before) return a;
    await sleep(1); // a millisecond between requests: fine enough, and the nodes keep the cores
  }
  throw new Error(`${m.id} still answered ${before} (${timeoutMs} ms, at most ${maxPolls} requests)`);
}

// ---- setup ------------------------------------------------------------

interface Setup {
  readonly where: string;
  readonly redis: string;
  readonly namespace: string;
  readonly members: Member[];
}

/** Redis as the tests find it; three node processes spawned here. */
async function localSetup(): Promise<Setup | undefined> {
  let redis: RedisHandle;
  try {
    redis = await findRedis();
  } catch {
    console.error(HOW_TO_GET_REDIS);
    return undefined;
  }
  cleanup.push(() => redis.stop());
  if (!(await reachable(redis.url))) {
    console.error(`Cannot reach the Redis at ${redis.url}. ${HOW_TO_GET_REDIS}`);
    await finish();
    return undefined;
  }
  const namespace = args.namespace ?? `demo-${randomBytes(4).toString('hex')}`;
  // A Redis the tour did not start keeps running: leave nothing of the tour's in it.
  if (redis.source === 'env') cleanup.push(() => removeNamespace(redis.url, namespace));
  const ids = ['node-1', 'node-2', 'node-3'];
  return {
    where: `${ids.length} node processes spawned by this script`,
    redis: `${redis.url} (${describe(redis.source)})`,
    namespace,
    members: ids.map((nodeId) => new LocalMember({ redis: redis.url, namespace, nodeId })),
  };
}

/** The nodes run in containers (docker-compose.yml); their supervisors relay over REDIS_URL. */
async function remoteSetup(ids: string[]): Promise<Setup | undefined> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const namespace = args.namespace ?? process.env.DEMO_NAMESPACE ?? 'demo';
  const pub = new Redis(url);
  const sub = pub.duplicate();
  cleanup.push(() => Promise.allSettled([pub.quit(), sub.quit()]));
  const remote = ids.map((id) => new RemoteMember(id, namespace, pub));
  sub.on('message', (_channel: string, raw: string) => {
    const msg = parse<Output>(raw);
    if (msg) for (const m of remote) m.deliver(msg);
  });
  await sub.subscribe(outputChannel(namespace));
  return { where: `nodes ${ids.join(', ')} in their own containers`, redis: url, namespace, members: remote };
}

/** A REDIS_URL may point nowhere; the nodes would wait for it forever. */
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

/** Deletes the namespace's keys (cluster states, node keys, the registry), with SCAN rather than KEYS. */
async function removeNamespace(url: string, namespace: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `{${namespace}}:*`, 'COUNT', 100);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
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

// ---- helpers ----------------------------------------------------------

function byId(all: readonly Member[], id: string): Member {
  const m = all.find((x) => x.id === id);
  if (!m) throw new Error(`no member ${id}`);
  return m;
}

function viewsOf(all: readonly Member[]): Promise<View[]> {
  return Promise.all(all.map((m) => m.call<View>({ cmd: 'view' })));
}

/** Polls `check` until it gives a value. */
async function until<V>(check: () => Promise<V | undefined>, what: string, timeoutMs = 10_000): Promise<V> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function sleep(msec: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msec));
}

function step(heading: string): void {
  console.log('');
  console.log(heading);
}

function say(line: string): void {
  console.log(`   ${line}`);
}

function count(n: number): string {
  return ['No', 'One', 'Two', 'Three', 'Four', 'Five'][n] ?? String(n);
}

function ms(x: number): string {
  return `${x.toFixed(1)} ms`;
}

function ms0(x: number): string {
  return `${Math.round(x)} ms`;
}

process.exitCode = await main();
