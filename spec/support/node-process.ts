/**
 * One Gossip node in a process of its own, for tests that kill processes for
 * real. Run as `node --import tsx spec/support/node-process.ts '<json options>'`
 * (or with the options in SG_NODE_OPTIONS); {@link ChildNode} in child.ts
 * does that for you.
 *
 * Protocol, one JSON object per line:
 *   stdout, once started:  {"event":"ready","nodeId":…,"pid":…}
 *   stdout, if it cannot:  {"event":"failed","error":{"code":…,"message":…}}, then exit code 1
 *   stdin:                 {"id":1,"cmd":"set","args":[…]}
 *   stdout:                {"id":1,"ok":true,"value":…} | {"id":1,"ok":false,"error":{"code":…,"message":…}}
 * Commands: set, setSync, get, join, leave, status, version, nodes, leader, cluster, stop;
 * setCfg (answers the writer's {version, leader} just after the write), getCfg, metrics;
 * watchVersions: from then on prints {"event":"version","version":…,"cluster":…} on every 'rumor' event;
 * watch [key, minMark?]: from then on prints {"event":"data","version":…,"mark":data[key],"at":…} on every
 *   'data' event whose mark is not a number below minMark ([null] stops it); `at` is
 *   process.hrtime.bigint() (as a string) taken first thing in the handler;
 * loop [LoopSpec]: runs writes inside this process (for benchmarks) and answers a {@link LoopResult};
 * timedSet [value]: set(value), stamped with process.hrtime.bigint() just before the call
 *   and when it resolves; answers a {@link TimedSet};
 * burst [LoopSpec, value]: runs the loop, then at once a timedSet of value; answers a {@link BurstResult};
 * profile ['start', 'cpu'?] | ['stop', file?]: a V8 CPU profile of this process between the two (node:inspector),
 *   written to file as a .cpuprofile (with 'cpu': no profiler, only the CPU time); 'stop' answers the
 *   process's CPU time (µs) since 'start'.
 * The process stops its node and exits on `stop`, on SIGTERM/SIGINT, and when
 * stdin closes (its parent went away). Diagnostics go to stderr only.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Gossip } from '../../lib/index.js';
import type { GossipOptions, Logger } from '../../lib/index.js';
import { isExtraCommand, runExtra, shiftClock } from './node-extras.js';
import type { ExtraCommand } from './node-extras.js';

export interface NodeProcessOptions {
  readonly redis: string;
  readonly namespace: string;
  readonly nodeId: string;
  readonly rpcTimeoutMs?: number;
  readonly gossipIntervalMs?: number;
  readonly statusTimeoutMs?: number;
  /** Any other Gossip options (JSON-serialisable: join, evictAfterMs, leaseMs, fencing, secret…). */
  readonly options?: Omit<GossipOptions, 'redis' | 'namespace' | 'nodeId' | 'logger'>;
  /** Log the node's diagnostics to stderr. @default false */
  readonly verbose?: boolean;
  /** Run this process's clock (Date.now) this many ms off, from before the node starts. @default 0 */
  readonly clockOffsetMs?: number;
}

export type Command =
  | 'set'
  | 'setSync'
  | 'get'
  | 'join'
  | 'leave'
  | 'status'
  | 'version'
  | 'nodes'
  | 'leader'
  | 'cluster'
  | 'stop'
  | 'setCfg'
  | 'setCfgSync'
  | 'getCfg'
  | 'metrics'
  | 'watch'
  | 'watchVersions'
  | ExtraCommand // count, setBlob, digest, watchErrors, clockOffset, now, alive: see node-extras.ts
  | 'loop'
  | 'timedSet'
  | 'burst'
  | 'profile';

export interface Request {
  readonly id: number;
  readonly cmd: Command;
  readonly args?: readonly unknown[];
}

export type Response =
  { readonly id: number; readonly ok: true; readonly value?: unknown } | { readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export type ReadyLine = { readonly event: 'ready'; readonly nodeId: string; readonly pid: number };

/** The node could not start (e.g. its id is live elsewhere: code 'node_id_in_use'). */
export type FailedLine = { readonly event: 'failed'; readonly error: { readonly code: string; readonly message: string } };

/** Printed on each 'rumor' event while `watchVersions` is on. */
export type VersionLine = { readonly event: 'version'; readonly version: number; readonly cluster: string };

/**
 * Printed on each 'data' event while `watch` is on: the version, `data[key]`, and when the
 * event reached this process's handler (process.hrtime.bigint() in ns, as a string:
 * CLOCK_MONOTONIC, one clock for every process on Linux).
 */
export type DataLine = { readonly event: 'data'; readonly version: number; readonly mark: unknown; readonly at: string };

/** What `timedSet` answers: process.hrtime.bigint() (ns, as strings) just before set() and when it resolved. */
export interface TimedSet {
  readonly sentAt: string;
  readonly doneAt: string;
}

/** What `burst` answers: the loop's outcome (without per-write latencies) and the timed set after it. */
export interface BurstResult extends TimedSet {
  readonly burst: Omit<LoopResult, 'lat'>;
}

/** `loop`: writes `{ [key]: seq, ...payload }` until `count` are done or `maxMs` has passed. */
export interface LoopSpec {
  readonly op: 'set' | 'setSync';
  readonly count: number;
  /** Writes in flight at once. @default 1 */
  readonly concurrency?: number;
  /** @default 10000 */
  readonly maxMs?: number;
  /** @default 'seq' */
  readonly key?: string;
  readonly payload?: Record<string, unknown>;
  /** First seq written (each write gets the next). @default 1 */
  readonly from?: number;
  /** Per-op timeout of setSync. */
  readonly timeoutMs?: number;
  /** Idle time after each write (each worker), so each write wakes idle processes. @default 0 */
  readonly pauseMs?: number;
}

export interface LoopResult {
  readonly done: number;
  readonly errors: number;
  readonly firstError?: string;
  /** Wall time of the whole loop. */
  readonly ms: number;
  /** Each write's latency, in ms (in completion order). */
  readonly lat: number[];
}

async function runLoop(node: Gossip, spec: LoopSpec): Promise<LoopResult> {
  const { op, count, concurrency = 1, maxMs = 10_000, key = 'seq', payload = {}, from = 1, pauseMs = 0 } = spec;
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() - t0 < maxMs) {
      const value = { ...payload, [key]: from + next++ };
      const start = performance.now();
      try {
        if (op === 'setSync') await node.setSync(value, spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs });
        else await node.set(value);
        lat.push(performance.now() - start);
      } catch (err) {
        errors++;
        firstError ??= errorBody(err).code;
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { done: lat.length, errors, ms: performance.now() - t0, lat, ...(firstError ? { firstError } : {}) };
}

async function timedSet(node: Gossip, value: unknown): Promise<TimedSet> {
  const sentAt = process.hrtime.bigint();
  await node.set(value);
  const doneAt = process.hrtime.bigint();
  // The answer's stdout write waits until the node's own 'data' event (emitted on setImmediate
  // in 'auto' mode) has been stamped, so the harness's pipe write is not in its time.
  await new Promise((resolve) => setImmediate(resolve));
  return { sentAt: String(sentAt), doneAt: String(doneAt) };
}

let profiling: { session: Session | undefined; cpu: NodeJS.CpuUsage } | undefined;

async function profile(what: unknown, arg: unknown): Promise<unknown> {
  if (what === 'start') {
    // A start without a stop (its caller failed in between) is forgotten.
    profiling?.session?.disconnect();
    profiling = undefined;
    if (arg === 'cpu') {
      profiling = { session: undefined, cpu: process.cpuUsage() };
      return true;
    }
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    profiling = { session, cpu: process.cpuUsage() };
    return true;
  }
  if (!profiling) throw new Error('not profiling');
  const { session, cpu } = profiling;
  profiling = undefined;
  const used = process.cpuUsage(cpu);
  if (session) {
    const { profile: p } = await session.post('Profiler.stop');
    session.disconnect();
    if (typeof arg === 'string') writeFileSync(arg, JSON.stringify(p));
  }
  return { userUs: used.user, systemUs: used.system };
}

/** What `setCfg` answers: the writer's view right after the leader applied the write. */
export interface WriteAck {
  readonly version: number;
  readonly leader: string;
}

function readOptions(): NodeProcessOptions {
  const raw = process.argv[2] ?? process.env.SG_NODE_OPTIONS;
  if (!raw) throw new Error('node-process: pass the node options as JSON in argv[2] or SG_NODE_OPTIONS');
  return JSON.parse(raw) as NodeProcessOptions;
}

function write(line: Response | ReadyLine | FailedLine | DataLine | VersionLine, then?: () => void): void {
  process.stdout.write(`${JSON.stringify(line)}\n`, then);
}

function errorBody(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  return { code: typeof e?.code === 'string' ? e.code : 'error', message: String(e?.message ?? err) };
}

const stderrLogger: Logger = {
  debug: (...a) => console.error('[debug]', ...a),
  info: (...a) => console.error('[info]', ...a),
  warn: (...a) => console.error('[warn]', ...a),
  error: (...a) => console.error('[error]', ...a),
};

async function main(): Promise<void> {
  const o = readOptions();
  if (o.clockOffsetMs) shiftClock(o.clockOffsetMs);
  const options: GossipOptions = {
    redis: o.redis,
    namespace: o.namespace,
    nodeId: o.nodeId,
    rpcTimeoutMs: o.rpcTimeoutMs,
    gossipIntervalMs: o.gossipIntervalMs,
    statusTimeoutMs: o.statusTimeoutMs,
    ...o.options,
    ...(o.verbose ? { logger: stderrLogger } : {}),
  };
  const node = await Gossip.start(options);
  node.on('error', (err) => console.error(`[node ${o.nodeId}] ${err.message}`));

  let exiting: Promise<void> | undefined;
  const exit = (code: number): Promise<void> =>
    (exiting ??= node.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        console.error('node-process: stop failed', err);
        process.exit(1);
      },
    ));

  let watcher: ((e: { data: unknown; version: number }) => void) | undefined;
  const run = async (cmd: Command, args: readonly unknown[]): Promise<unknown> => {
    switch (cmd) {
      case 'set':
        return node.set(args[0]);
      case 'setSync':
        return node.setSync(args[0], args[1] ?? {});
      case 'get':
        return node.get();
      case 'join':
        return node.join(String(args[0]));
      case 'leave':
        return node.leave(String(args[0]));
      case 'status':
        return node.status();
      case 'version':
        return node.version;
      case 'nodes':
        return node.nodes;
      case 'leader':
        return node.leader;
      case 'cluster':
        return node.rumor.cluster;
      case 'stop':
        await node.stop();
        return undefined;
      case 'setCfg': {
        await node.setCfg(String(args[0]), args[1]);
        const ack: WriteAck = { version: node.version, leader: node.leader };
        return ack;
      }
      case 'setCfgSync':
        return node.setCfgSync(String(args[0]), args[1], args[2] ?? {});
      case 'getCfg':
        return node.getCfg(String(args[0]), args[1]);
      case 'metrics':
        return node.metrics();
      case 'watch': {
        if (watcher) node.unsubscribe(watcher);
        watcher = undefined;
        if (typeof args[0] !== 'string') return false;
        const key = args[0];
        const minMark = typeof args[1] === 'number' ? args[1] : undefined;
        watcher = ({ data, version }) => {
          const at = process.hrtime.bigint();
          const mark = (data as Record<string, unknown> | undefined)?.[key] ?? null;
          if (minMark !== undefined && typeof mark === 'number' && mark < minMark) return;
          write({ event: 'data', version, mark, at: String(at) });
        };
        node.subscribe(watcher);
        return true;
      }
      case 'watchVersions':
        // Every version this node's subscribers see, in order (a 'rumor' event per change).
        node.subscribe((r) => write({ event: 'version', version: r.version, cluster: r.cluster }), 'rumor');
        return true;
      case 'loop':
        return runLoop(node, args[0] as LoopSpec);
      case 'timedSet':
        return timedSet(node, args[0]);
      case 'profile':
        return profile(args[0], args[1]);
      case 'burst': {
        const loop = await runLoop(node, args[0] as LoopSpec);
        const then = await timedSet(node, args[1]);
        const burst = { done: loop.done, errors: loop.errors, ms: loop.ms, ...(loop.firstError ? { firstError: loop.firstError } : {}) };
        const result: BurstResult = { burst, ...then };
        return result;
      }
      default:
        if (isExtraCommand(cmd)) return runExtra(node, cmd, args);
        throw Object.assign(new Error(`unknown command ${JSON.stringify(cmd)}`), { code: 'unknown_command' });
    }
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      console.error(`node-process: not JSON: ${line}`);
      return;
    }
    void run(req.cmd, req.args ?? [])
      .then(
        (value) => write({ id: req.id, ok: true, value }),
        (err: unknown) => write({ id: req.id, ok: false, error: errorBody(err) }),
      )
      .then(() => {
        // The reply is written before the process goes.
        if (req.cmd === 'stop') void exit(0);
      });
  });
  // No more commands can come: the parent is gone or done with us.
  lines.on('close', () => void exit(0));
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));

  write({ event: 'ready', nodeId: node.id, pid: process.pid });
}

main().catch((err: unknown) => {
  console.error('node-process: could not start:', err);
  // The parent reads the reason (its code) before it sees the exit.
  write({ event: 'failed', error: errorBody(err) }, () => process.exit(1));
});
