/**
 * The physical floor of a Redis commit-and-publish design on this machine,
 * in the same run as the library's figures, one OS process per subscriber
 * node (floor-child.ts):
 *
 * - an idle pub/sub hop between two processes, and a PING round trip;
 * - the script floor: the writer (this process, the N-th node) calls one Lua
 *   script (EVALSHA) that HSETs a small field of `{floor}:cluster`, HINCRBYs
 *   its version and PUBLISHes a ~200-byte message to each of the N-1
 *   subscribers' channels `{floor}:node:<i>`. Convergence = the last of the
 *   writer's answer and every subscriber's arrival, from the send; then
 *   commits/s back to back, and with 64 in flight; and a lone commit right
 *   after a burst (BURST_WRITES commits, BURST_IN_FLIGHT in flight): its
 *   convergence, from its send;
 * - the same convergence with subscribers that read RESP off a bare socket;
 * - the design floor: the library's own commit script (lib/scripts/commit-2.lua)
 *   called bare by the writer, with the arguments lib/node/store.ts commit()
 *   passes (the same frame size as the library's set() of PAYLOAD + seq), to
 *   N-1 subscribers that decode each frame into a deep-frozen object before
 *   they stamp it: its convergence and sequential commits/s; and its setSync:
 *   commits whose meta asks for acks, until this process has every
 *   subscriber's ack (as the library's setSync). What is left between it and
 *   the library is the library's own JS.
 *
 * Each kind of subscriber has processes and channels of its own, so one
 * kind's messages never reach another's.
 *
 * Times cross processes as process.hrtime.bigint() (CLOCK_MONOTONIC, one
 * clock for every process on Linux; performance.timeOrigin differs between
 * processes by milliseconds). Samples go one at a time, 2 ms after the last
 * arrival, so each one wakes idle processes as a write does.
 *
 *   npx tsx bench/floor.ts [--full]   (just the floor, printed; bench/run.ts measures it at each N
 *   right before the library at that N)
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { REPLAY_WINDOW_MS, WRITE_RECORD_TTL_MS } from '../lib/constants.js';
import { headerPrefix } from '../lib/transport/frames.js';
import { findRedis } from '../tools/redis-server.js';
import { BURST_IN_FLIGHT, BURST_WRITES, DESIGN_ACKS, DESIGN_NAMESPACE, IDLE_MS, PAYLOAD, PLANS, THROUGHPUT_SEGMENTS, WARM_UP } from './config.js';
import { load1 } from './machine.js';
import { commandStats, usecPerCall } from './redis-stats.js';
import type { Ctx, Floor, FloorConvergenceRow, FloorLoneRow, FloorRateRow, FloorSyncRow, Results } from './results.js';
import { bestOf, now, pool, sleep, summarize, within } from './stats.js';
import { renderFloor } from './table.js';

/** What the floor needs of a run's context (so it runs alone, too). */
export type FloorCtx = Pick<Ctx, 'redisUrl' | 'plan' | 'log'> & { readonly results: Pick<Results, 'floor'> };

const CHILD = fileURLToPath(new URL('./floor-child.ts', import.meta.url));
const KEY = '{floor}:cluster';
const HOP_SAMPLES = 300;
const SAMPLE_TIMEOUT_MS = 1_000;
/** ARGV: the field's value, the message, the number of subscribers, the channel prefix. */
const SCRIPT = `
redis.call('HSET', KEYS[1], 'data', ARGV[1])
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
for i = 1, tonumber(ARGV[3]) do redis.call('PUBLISH', ARGV[4] .. i, ARGV[2]) end
return version`;

type Client = 'ioredis' | 'raw' | 'decode';
/** Each kind of subscriber on channels of its own: `<prefix><i>`, i = 1..N-1. */
const CHANNEL_PREFIX: Readonly<Record<Client, string>> = { ioredis: '{floor}:node:', raw: '{floor}:raw:node:', decode: '{floor}:design:node:' };
const LABEL: Readonly<Record<Client, FloorConvergenceRow['subscribers']>> = { ioredis: 'ioredis', raw: 'raw-socket', decode: 'decode' };

/** The design floor's cluster hash and the writer's member id (the subscribers' ids are their channel numbers). */
const DESIGN_KEY = '{floor}:design';
const DESIGN_WRITER = 'w';
const DESIGN_SCRIPT = readFileSync(fileURLToPath(new URL('../lib/scripts/commit-2.lua', import.meta.url)), 'utf8');
/** The header line's part the writer sends, as long as the bench's (namespace `bench-<8 hex>`, a cluster id `<node id>@<time>.<4>`). */
const DESIGN_HEADER = headerPrefix(DESIGN_NAMESPACE, 'node-000@design00.0000', DESIGN_WRITER);
/** The keys and value texts of the bench's set() of `{ ...PAYLOAD, seq }` (codec.ts plainText: '=' + JSON); seq's text is the commit's. */
const DESIGN_KEYS: readonly string[] = [...Object.keys(PAYLOAD), 'seq'];
const DESIGN_TEXTS: readonly string[] = Object.values(PAYLOAD).map((v) => `=${JSON.stringify(v)}`);
const WRITE_ID_PREFIX = randomBytes(9).toString('base64url');
let designWrites = 0;

/** One commit; resolves when the writer has its answer (the design floor's: to the version). `seq` 0 is not reported back. */
type Commit = (seq: number, sent: bigint) => Promise<unknown>;

const live = new Set<ChildProcess>();

/** SIGKILLs every subscriber process still running (synchronous, so it works in an 'exit' handler). */
export function killFloorChildren(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

const toMs = (ns: bigint): number => Number(ns) / 1e6;
const sum = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0);
const JSON_PAYLOAD = JSON.stringify(PAYLOAD);
/** `<seq> <send stamp> <payload>`: about 200 bytes; seq 0 is not reported back. */
const message = (seq: number, sent: bigint): string => `${seq} ${sent} ${JSON_PAYLOAD}`;
let lastSeq = 0;

/** Subscriber processes on channels 1..count, and the arrival stamps they report. */
class Subscribers {
  readonly #procs: ChildProcess[] = [];
  #sample: { seq: string; left: number; last: bigint; done: (last: bigint) => void } | undefined;
  #cpu: { got: number[]; left: number; done: (us: number[]) => void } | undefined;

  constructor(
    readonly client: Client,
    readonly url: string,
  ) {}

  get prefix(): string {
    return CHANNEL_PREFIX[this.client];
  }

  /** Grows to `count` processes, 4 starting at a time. */
  async grow(count: number): Promise<void> {
    const channels = Array.from({ length: count - this.#procs.length }, (_, i) => this.#procs.length + i + 1);
    await pool(channels, 4, (i) => this.#spawn(i));
  }

  /** The latest arrival of message `seq` at the first `count` processes; undefined after `timeoutMs`. */
  async expect(seq: number, count: number, timeoutMs = SAMPLE_TIMEOUT_MS): Promise<bigint | undefined> {
    const all = new Promise<bigint>((done) => (this.#sample = { seq: String(seq), left: count, last: 0n, done }));
    try {
      return await within(all, timeoutMs);
    } finally {
      this.#sample = undefined;
    }
  }

  /** Each of the first `count` processes' CPU time since it started (µs). */
  async cpu(count: number): Promise<number[] | undefined> {
    const all = new Promise<number[]>((done) => (this.#cpu = { got: [], left: count, done }));
    for (const c of this.#procs.slice(0, count)) c.stdin!.write('cpu\n');
    try {
      return await within(all, 5_000);
    } finally {
      this.#cpu = undefined;
    }
  }

  async stop(): Promise<void> {
    const exits = this.#procs.map((c) => new Promise((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve(undefined) : c.once('exit', resolve))));
    for (const c of this.#procs) {
      c.kill('SIGKILL');
      live.delete(c);
    }
    this.#procs.length = 0;
    await within(Promise.all(exits), 5_000);
  }

  #spawn(channel: number): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, this.client, this.url, `${this.prefix}${channel}`], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.on('error', () => undefined);
    live.add(child);
    this.#procs.push(child);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`floor subscriber ${channel} not ready within 30 s`)), 30_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`floor subscriber ${channel} exited (${code ?? signal}) before it was ready`));
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line !== 'ready') return this.#arrived(line);
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #arrived(line: string): void {
    const [seq, at] = line.split(' ');
    if (seq === 'cpu') {
      const c = this.#cpu;
      if (!c) return;
      c.got.push(Number(at));
      if (--c.left === 0) c.done(c.got);
      return;
    }
    const s = this.#sample;
    if (!s || seq !== s.seq || at === undefined) return;
    const t = BigInt(at);
    if (t > s.last) s.last = t;
    if (--s.left === 0) s.done(s.last);
  }
}

/** A message straight to subscriber 1, 2 ms apart: the hop, from PUBLISH sent to the message in the other process. */
async function hop(redis: Redis, subs: Subscribers): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < HOP_SAMPLES; i++) {
    const seq = ++lastSeq;
    const arrival = subs.expect(seq, 1);
    const sent = process.hrtime.bigint();
    await redis.publish(`${subs.prefix}1`, message(seq, sent));
    const at = await arrival;
    if (at !== undefined) out.push(toMs(at - sent));
    await sleep(2);
  }
  return out;
}

async function ping(redis: Redis): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < HOP_SAMPLES; i++) {
    await sleep(2);
    const t0 = process.hrtime.bigint();
    await redis.ping();
    out.push(toMs(process.hrtime.bigint() - t0));
  }
  return out;
}

/** A commit of the floor script, to `subs`' first n-1 channels. */
function scriptCommit(redis: Redis, sha: string, subs: Subscribers, n: number): Commit {
  return (seq, sent) => redis.evalsha(sha, 1, KEY, String(seq), message(seq, sent), n - 1, subs.prefix);
}

/**
 * A commit of commit-2.lua with the arguments lib/node/store.ts commit()
 * passes for an unconditional, unsigned set() of `{ ...PAYLOAD, seq }` by
 * member 'w' (a fresh write id each time: `<seq>-<random>`), to the members
 * of {@link DESIGN_KEY}, the channels `subs` listens on.
 */
function designCommit(redis: Redis, sha: string, subs: Subscribers, ack = false): Commit {
  return async (seq) => {
    const w = `${seq}-${WRITE_ID_PREFIX}${(designWrites++).toString(36)}`;
    const metaText = JSON.stringify({ w, ts: Date.now(), op: 'set', mode: 'c', set: DESIGN_KEYS, ...(ack ? { ack: 1 } : {}) });
    const args = ['PUBLISH', subs.prefix, DESIGN_HEADER, DESIGN_WRITER, '', WRITE_RECORD_TTL_MS, REPLAY_WINDOW_MS, '', metaText, ...DESIGN_TEXTS, `=${designWrites}`];
    const r: unknown = await redis.evalsha(sha, 2, DESIGN_KEY, `{floor}:write:${w}`, ...args);
    if (!Array.isArray(r) || r[0] !== 'ok') throw new Error(`commit-2.lua answered ${JSON.stringify(r)}`);
    return r[1] as number;
  };
}

/**
 * The design floor's writer's side of a setSync: the subscribers' acks on
 * {@link DESIGN_ACKS}, each checked as the library checks an envelope
 * (parsed, its type, addressee and head), kept with its arrival stamp.
 */
class AckListener {
  readonly #sub: Redis;
  #got: Array<{ readonly version: number; readonly at: bigint }> = [];
  #changed: (() => void) | undefined;

  constructor(url: string) {
    this.#sub = new Redis(url);
    this.#sub.on('message', (_channel: string, message: string) => {
      const at = process.hrtime.bigint();
      try {
        const env = JSON.parse(message.slice(1)) as { type?: unknown; to?: unknown; ns?: unknown; body?: { version?: unknown; cluster?: unknown; hash?: unknown } };
        const version = env.body?.version;
        if (env.type !== 'ack' || env.to !== DESIGN_WRITER || env.ns !== DESIGN_NAMESPACE || typeof env.body?.cluster !== 'string' || typeof env.body.hash !== 'string') return;
        if (!Number.isSafeInteger(version)) return;
        this.#got.push({ version: version as number, at });
        this.#changed?.();
      } catch {
        // not an ack
      }
    });
  }

  start(): Promise<unknown> {
    return this.#sub.subscribe(DESIGN_ACKS);
  }

  /** Forgets the acks so far (before a sample's commit). */
  reset(): void {
    this.#got = [];
  }

  /** The arrival of the last of `count` acks of at least `version`; undefined after `timeoutMs`. */
  async all(version: number, count: number, timeoutMs: number): Promise<bigint | undefined> {
    const done = (): bigint | undefined => {
      const acked = this.#got.filter((a) => a.version >= version);
      return acked.length >= count ? acked.reduce((last, a) => (a.at > last ? a.at : last), 0n) : undefined;
    };
    const waited = new Promise<bigint>((resolve) => {
      this.#changed = () => {
        const at = done();
        if (at !== undefined) resolve(at);
      };
      this.#changed();
    });
    try {
      return await within(waited, timeoutMs);
    } finally {
      this.#changed = undefined;
    }
  }

  stop(): void {
    this.#sub.disconnect();
  }
}

/** The design floor's setSync: a commit whose meta asks for acks, until the writer has every subscriber's; one at a time, IDLE_MS apart. */
async function designSync(redis: Redis, commit: Commit, acks: AckListener, n: number, runs: number): Promise<FloorSyncRow> {
  const lat: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < WARM_UP + runs; i++) {
    const seq = ++lastSeq;
    acks.reset();
    const sent = process.hrtime.bigint();
    const version = (await commit(seq, sent)) as number;
    const last = await acks.all(version, n - 1, SAMPLE_TIMEOUT_MS);
    if (i >= WARM_UP) {
      if (last === undefined) timeouts++;
      else lat.push(toMs(last - sent));
    }
    await sleep(IDLE_MS);
  }
  return { n, runs, timeouts, latencyMs: summarize(lat), load1: load1() };
}

/** The design floor's cluster as its script needs it, version 1, with 'w' and the n-1 subscribers as members. */
async function designCluster(redis: Redis, n: number): Promise<void> {
  const nodes = [DESIGN_WRITER, ...Array.from({ length: n - 1 }, (_, i) => String(i + 1))].join(' ');
  await redis
    .multi()
    .del(DESIGN_KEY)
    .hset(DESIGN_KEY, { v: 1, h: randomBytes(20).toString('hex'), nodes, mode: 'c', seq: 0, leader: DESIGN_WRITER })
    .exec();
}

async function convergence(ctx: FloorCtx, redis: Redis, commit: Commit, subs: Subscribers, n: number): Promise<FloorConvergenceRow> {
  const runs = ctx.plan.convergenceRuns(n);
  const stats = await commandStats(redis);
  const cpu0 = await subs.cpu(n - 1);
  const lat: number[] = [];
  let timeouts = 0;
  for (let i = 0; i < WARM_UP + runs; i++) {
    const seq = ++lastSeq;
    const arrivals = subs.expect(seq, n - 1);
    const sent = process.hrtime.bigint();
    const answered = commit(seq, sent).then(() => process.hrtime.bigint());
    const [own, last] = await Promise.all([answered, arrivals]);
    if (i >= WARM_UP) {
      if (last === undefined) timeouts++;
      else lat.push(toMs((own > last ? own : last) - sent));
    }
    await sleep(IDLE_MS);
  }
  const cpu1 = await subs.cpu(n - 1);
  // (the INFO call itself is not an EVALSHA)
  const redisScriptUs = usecPerCall(stats, await commandStats(redis));
  const receiverCpuUs = cpu0 && cpu1 ? (sum(cpu1) - sum(cpu0)) / (n - 1) / (WARM_UP + runs) : Number.NaN;
  return { subscribers: LABEL[subs.client], n, runs, timeouts, latencyMs: summarize(lat), redisScriptUs, receiverCpuUs, load1: load1() };
}

/** The script back to back for `ms`, `inFlight` at a time; then waits until every subscriber has caught up. */
async function commitRate(redis: Redis, commit: Commit, subs: Subscribers, n: number, inFlight: number, ms: number): Promise<FloorRateRow> {
  const lat: number[] = [];
  const cpu0 = await subs.cpu(n - 1);
  const stats = await commandStats(redis);
  const me0 = process.cpuUsage();
  const t0 = now();
  const worker = async () => {
    for (let i = 0; i < 10_000_000 && now() - t0 < ms; i++) {
      const start = now();
      await commit(0, process.hrtime.bigint());
      lat.push(now() - start);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (now() - t0) / 1000;
  const me = process.cpuUsage(me0);
  const redisScriptUs = usecPerCall(stats, await commandStats(redis));
  const seq = ++lastSeq;
  const caughtUp = subs.expect(seq, n - 1, 30_000);
  await commit(seq, process.hrtime.bigint());
  if ((await caughtUp) === undefined) throw new Error(`the floor's subscribers had not caught up 30 s after ${lat.length} commits`);
  const cpu1 = await subs.cpu(n - 1);
  const subscriberCpuUs = cpu0 && cpu1 ? (sum(cpu1) - sum(cpu0)) / cpu1.length : Number.NaN;
  return {
    n,
    inFlight,
    commits: lat.length,
    seconds,
    perSecond: lat.length / seconds,
    latencyMs: summarize(lat),
    writerCpuUsPerCommit: (me.user + me.system) / lat.length,
    subscriberCpuUsPerCommit: subscriberCpuUs / (lat.length + 1),
    redisScriptUs,
    load1: load1(),
  };
}

/** The best of {@link THROUGHPUT_SEGMENTS} commit-rate runs. */
const bestRate = (run: () => Promise<FloorRateRow>): Promise<FloorRateRow> => bestOf(THROUGHPUT_SEGMENTS, run, (r) => r.perSecond);

/** `reps` times: a burst of BURST_WRITES commits, BURST_IN_FLIGHT in flight, then at once one commit, timed like a convergence sample. */
async function loneAfterBurst(commit: Commit, subs: Subscribers, n: number, reps: number): Promise<FloorLoneRow> {
  const lat: number[] = [];
  let timeouts = 0;
  for (let r = 0; r < reps; r++) {
    let left = BURST_WRITES;
    const worker = async () => {
      while (left-- > 0) await commit(0, process.hrtime.bigint());
    };
    await Promise.all(Array.from({ length: BURST_IN_FLIGHT }, worker));
    const seq = ++lastSeq;
    const arrivals = subs.expect(seq, n - 1, 10_000);
    const sent = process.hrtime.bigint();
    const answered = commit(seq, sent).then(() => process.hrtime.bigint());
    const [own, last] = await Promise.all([answered, arrivals]);
    if (last === undefined) timeouts++;
    else lat.push(toMs((own > last ? own : last) - sent));
    await sleep(20);
  }
  return { n, reps, burst: BURST_WRITES, inFlight: BURST_IN_FLIGHT, timeouts, latencyMs: summarize(lat), load1: load1() };
}

/**
 * The floor's processes and connection, kept for a whole run so the floor at
 * each N can be measured right before the library at that N (run.ts), or all
 * at once ({@link floor}). Fills ctx.results.floor as it goes, so a failure
 * keeps what was measured.
 */
export class FloorRig {
  readonly #redis: Redis;
  readonly #ioredis: Subscribers;
  readonly #raw: Subscribers;
  readonly #decode: Subscribers;
  readonly #acks: AckListener;
  #sha: string | undefined;
  #designSha: string | undefined;
  readonly #done = new Set<number>();

  constructor(private readonly ctx: FloorCtx) {
    this.#redis = new Redis(ctx.redisUrl);
    this.#ioredis = new Subscribers('ioredis', ctx.redisUrl);
    this.#raw = new Subscribers('raw', ctx.redisUrl);
    this.#decode = new Subscribers('decode', ctx.redisUrl);
    this.#acks = new AckListener(ctx.redisUrl);
  }

  /** The idle hop and PING, and the scripts loaded. */
  async start(): Promise<Floor> {
    await this.#ioredis.grow(1);
    this.ctx.log('floor: an idle pub/sub hop between two processes, a PING round trip');
    const f: Floor = {
      pubsubHopMs: summarize(await hop(this.#redis, this.#ioredis)),
      pingRoundTripMs: summarize(await ping(this.#redis)),
      convergence: [],
      commitRate: [],
      loneAfterBurst: [],
      designConvergence: [],
      designCommitRate: [],
      designSync: [],
    };
    this.ctx.results.floor = f;
    await this.#acks.start();
    this.#sha = (await this.#redis.script('LOAD', SCRIPT)) as string;
    this.#designSha = (await this.#redis.script('LOAD', DESIGN_SCRIPT)) as string;
    return f;
  }

  /**
   * Everything the plan measures at n (once per n): ioredis convergence,
   * commit rates, lone after a burst; raw-socket convergence; the design
   * floor's convergence and sequential commit rate.
   */
  async measureAt(n: number): Promise<void> {
    const { plan, log } = this.ctx;
    const f = this.ctx.results.floor ?? (await this.start());
    const sha = this.#sha!;
    if (this.#done.has(n)) return;
    this.#done.add(n);
    if (plan.floorNs.includes(n)) {
      await this.#ioredis.grow(n - 1);
      log(`floor: script + ${n - 1} ioredis subscriber processes, ${plan.convergenceRuns(n)} commits, then back to back, then bursts`);
      const commit = scriptCommit(this.#redis, sha, this.#ioredis, n);
      f.convergence.push(await convergence(this.ctx, this.#redis, commit, this.#ioredis, n));
      for (const inFlight of [1, 64]) f.commitRate.push(await bestRate(() => commitRate(this.#redis, commit, this.#ioredis, n, inFlight, plan.throughputMs)));
      f.loneAfterBurst.push(await loneAfterBurst(commit, this.#ioredis, n, plan.burstReps));
    }
    if (plan.floorRawNs.includes(n)) {
      await this.#raw.grow(n - 1);
      log(`floor: script + ${n - 1} raw-socket subscriber processes, ${plan.convergenceRuns(n)} commits`);
      f.convergence.push(await convergence(this.ctx, this.#redis, scriptCommit(this.#redis, sha, this.#raw, n), this.#raw, n));
    }
    if (plan.floorNs.includes(n)) {
      await this.#decode.grow(n - 1);
      await designCluster(this.#redis, n);
      log(`design floor: commit-2.lua + ${n - 1} decoding ioredis subscriber processes, ${plan.convergenceRuns(n)} commits, then back to back`);
      const commit = designCommit(this.#redis, this.#designSha!, this.#decode);
      (f.designConvergence ??= []).push(await convergence(this.ctx, this.#redis, commit, this.#decode, n));
      (f.designCommitRate ??= []).push(await bestRate(() => commitRate(this.#redis, commit, this.#decode, n, 1, plan.throughputMs)));
      log(`design floor: setSync, ${plan.setSyncRuns} commits asking ${n - 1} subscribers for acks`);
      (f.designSync ??= []).push(await designSync(this.#redis, designCommit(this.#redis, this.#designSha!, this.#decode, true), this.#acks, n, plan.setSyncRuns));
    }
  }

  /** Every N of the plan not measured yet. */
  async measureRest(): Promise<void> {
    for (const n of [...new Set([...this.ctx.plan.floorNs, ...this.ctx.plan.floorRawNs])].sort((x, y) => x - y)) await this.measureAt(n);
  }

  async stop(): Promise<void> {
    this.#redis.disconnect();
    this.#acks.stop();
    await Promise.all([this.#ioredis.stop(), this.#raw.stop(), this.#decode.stop()]);
  }
}

/** Measures the whole floor of the plan into ctx.results.floor. */
export async function floor(ctx: FloorCtx): Promise<void> {
  const rig = new FloorRig(ctx);
  try {
    await rig.start();
    await rig.measureRest();
  } finally {
    await rig.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const plan = PLANS[process.argv.includes('--full') ? 'full' : 'quick'];
  const started = now();
  const log = (m: string) => process.stderr.write(`[${((now() - started) / 1000).toFixed(1).padStart(5)} s] ${m}\n`);
  const server = await findRedis({ own: true }).catch((err: unknown) => (process.env.REDIS_URL ? findRedis() : Promise.reject(err)));
  const exit = async (code: number) => {
    killFloorChildren();
    await within(server.stop(), 5_000);
    process.exit(code);
  };
  process.stdout.on('error', () => undefined);
  process.on('exit', killFloorChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void exit(130));
  const deadline = setTimeout(() => {
    log('gave up after 5 min');
    void exit(2);
  }, 5 * 60_000);
  const results: Pick<Results, 'floor'> = {};
  let code = 0;
  try {
    log(`redis at ${server.url} (${server.source}), ${plan.mode} plan`);
    await floor({ redisUrl: server.url, plan, log, results });
  } catch (err) {
    console.error('floor failed:', err);
    code = 1;
  }
  clearTimeout(deadline);
  if (results.floor) console.log(renderFloor(results.floor));
  await exit(code);
}
