/**
 * Nodes in child processes, driven over stdin/stdout JSON lines (the test
 * harness's ChildNode): spawning them a few at a time, timing how long a
 * write takes to reach all of them (from stamps the children take on their
 * own process.hrtime clock), and summing their metrics. Every child
 * spawned here is killed by {@link killAll}, which the runner calls on any exit.
 */
import { ChildNode } from '../spec/support/child-node.js';
import type { BurstResult, LoopResult, LoopSpec, TimedSet } from '../spec/support/node-process.js';
import type { MetricsSnapshot } from '../lib/index.js';
import { BURST_IN_FLIGHT, BURST_WRITES, CONVERGENCE_TIMEOUT_MS, IDLE_MS, PAYLOAD, WARM_UP } from './config.js';
import type { Marks } from './config.js';
import { median, pool, sleep, until, within } from './stats.js';

const live = new Set<ChildNode>();

/** SIGKILLs every child still running (synchronous, so it works in an 'exit' handler). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

/**
 * Stops `children` politely (their node stops, and a child run with
 * SG_CHILD_ARGS="--cpu-prof …" writes its profile), SIGKILLs any still
 * running after `graceMs`, and waits until they are gone.
 */
export async function stopChildren(children: readonly ChildNode[], graceMs = 5_000): Promise<void> {
  await within(
    Promise.all(
      children.map((c) =>
        c
          .call('stop')
          .catch(() => undefined)
          .then(() => c.exited),
      ),
    ),
    graceMs,
  );
  await killChildren(children);
}

/** Kills `children` and waits until they are gone. */
export async function killChildren(children: readonly ChildNode[]): Promise<void> {
  for (const c of children) {
    c.kill('SIGKILL');
    live.delete(c);
  }
  await within(Promise.all(children.map((c) => c.exited)), 10_000);
}

export interface SpawnSpec {
  readonly redis: string;
  readonly namespace: string;
  /** The child script; default: the simple-gossip node process. */
  readonly script?: string;
}

/** Spawns one child per id, at most 4 at a time (a 2-core machine boots them slowly). */
export async function spawnChildren(spec: SpawnSpec, ids: readonly string[]): Promise<ChildNode[]> {
  return pool(ids, 4, async (nodeId) => {
    const child = await ChildNode.spawn({
      redis: spec.redis,
      namespace: spec.namespace,
      nodeId,
      readyTimeoutMs: 60_000,
      callTimeoutMs: 180_000,
      ...(spec.script ? { script: spec.script } : {}),
    });
    live.add(child);
    return child;
  });
}

export interface ConvergenceResult {
  /** Milliseconds from the writer's stamp just before set() to the last node's 'data' stamp. */
  readonly latencies: number[];
  /** Writes sent in all (warm-up included). */
  readonly writes: number;
  /** Medians of where the samples' time went (convergence only). */
  readonly breakdown?: Breakdown;
  readonly timeouts: number;
  readonly errors: number;
  readonly firstError?: string;
}

const toMs = (ns: bigint): number => Number(ns) / 1e6;

/**
 * The 'data' stamps the children print while watching `seq` (marks from 1
 * up; a write whose seq is 0 prints nothing): {@link expect} resolves with
 * every child's stamp of its first 'data' event at or above the mark given.
 */
class Arrivals {
  readonly #offs: Array<() => void>;
  #target: { mark: number; at: Map<string, bigint>; done: (at: Map<string, bigint>) => void } | undefined;

  private constructor(readonly children: readonly ChildNode[]) {
    this.#offs = children.map((c) =>
      c.onEvent((line) => {
        const t = this.#target;
        if (!t || line.event !== 'data' || typeof line.mark !== 'number' || typeof line.at !== 'string') return;
        if (line.mark < t.mark || t.at.has(c.id)) return;
        t.at.set(c.id, BigInt(line.at));
        if (t.at.size < children.length) return;
        this.#target = undefined;
        t.done(t.at);
      }),
    );
  }

  static async watch(children: readonly ChildNode[]): Promise<Arrivals> {
    const a = new Arrivals(children);
    await Promise.all(children.map((c) => c.call('watch', 'seq', 1)));
    return a;
  }

  /** Set before the write is sent; undefined after `timeoutMs`. */
  expect(mark: number, timeoutMs = CONVERGENCE_TIMEOUT_MS): Promise<Map<string, bigint> | undefined> {
    const all = new Promise<Map<string, bigint>>((done) => (this.#target = { mark, at: new Map(), done }));
    return within(all, timeoutMs).finally(() => (this.#target = undefined));
  }

  async close(): Promise<void> {
    for (const off of this.#offs) off();
    await Promise.all(this.children.map((c) => c.call('watch', null).catch(() => undefined)));
  }
}

const latest = (at: Map<string, bigint>): bigint => {
  let last = 0n;
  for (const x of at.values()) if (x > last) last = x;
  return last;
};

/** Where a convergence sample's time went (ms from the writer's stamp, medians over the samples). */
export interface Breakdown {
  /** set() resolved in the writer. */
  readonly writerSetResolved: number;
  /** The writer's own 'data' event. */
  readonly writerData: number;
  /** The first and the last other node's 'data' event. */
  readonly firstReceiver: number;
  readonly lastReceiver: number;
}

/**
 * Measures convergence `runs` times (after `warmUp` unreported samples): the
 * writer `writer(i)` stamps process.hrtime.bigint() just before it calls
 * set() of a fresh mark (`timedSet`), every child stamps its 'data' event,
 * and a sample is the last child's stamp minus the writer's. One write at a
 * time, {@link IDLE_MS} apart. No stdin/stdout time is in the figure.
 */
export async function measureConvergence(children: readonly ChildNode[], writer: (i: number) => ChildNode, runs: number, marks: Marks, warmUp = WARM_UP): Promise<ConvergenceResult> {
  const arrivals = await Arrivals.watch(children);
  const latencies: number[] = [];
  const parts = { writerSetResolved: [] as number[], writerData: [] as number[], firstReceiver: [] as number[], lastReceiver: [] as number[] };
  let timeouts = 0;
  let errors = 0;
  let firstError: string | undefined;
  try {
    for (let i = 0; i < warmUp + runs; i++) {
      const mark = marks.next();
      const arrived = arrivals.expect(mark);
      const w = writer(i);
      const written = w.call<TimedSet>('timedSet', { ...PAYLOAD, seq: mark }).catch((err: Error) => err);
      const at = await arrived;
      const t = await written;
      if (i >= warmUp) {
        if (t instanceof Error) {
          errors++;
          firstError ??= t.message;
        } else if (at === undefined) timeouts++;
        else {
          const sent = BigInt(t.sentAt);
          latencies.push(toMs(latest(at) - sent));
          parts.writerSetResolved.push(toMs(BigInt(t.doneAt) - sent));
          parts.writerData.push(toMs(at.get(w.id)! - sent));
          const others = [...at].filter(([id]) => id !== w.id).map(([, x]) => toMs(x - sent));
          if (others.length > 0) {
            parts.firstReceiver.push(Math.min(...others));
            parts.lastReceiver.push(Math.max(...others));
          }
        }
      }
      await sleep(at === undefined ? 100 : IDLE_MS);
    }
  } finally {
    await arrivals.close();
  }
  const breakdown: Breakdown = {
    writerSetResolved: median(parts.writerSetResolved),
    writerData: median(parts.writerData),
    firstReceiver: median(parts.firstReceiver),
    lastReceiver: median(parts.lastReceiver),
  };
  return { latencies, writes: warmUp + runs, breakdown, timeouts, errors, ...(firstError ? { firstError } : {}) };
}

export interface LoneAfterBurstResult extends ConvergenceResult {
  /** The bursts' writes per second, as the writer saw them. */
  readonly burstPerSecond: number[];
}

/**
 * "A lone write right after a burst", `reps` times: the writer runs
 * {@link BURST_WRITES} set() calls, {@link BURST_IN_FLIGHT} in flight (seq 0,
 * which the children do not print), then at once one timedSet of a fresh
 * mark; a sample is that write's convergence, stamped as in
 * {@link measureConvergence}. 20 ms of quiet between bursts.
 */
export async function measureLoneAfterBurst(children: readonly ChildNode[], writer: ChildNode, reps: number, marks: Marks): Promise<LoneAfterBurstResult> {
  const arrivals = await Arrivals.watch(children);
  const latencies: number[] = [];
  const burstPerSecond: number[] = [];
  let timeouts = 0;
  let errors = 0;
  let firstError: string | undefined;
  try {
    for (let r = 0; r < reps; r++) {
      const mark = marks.next();
      const spec: LoopSpec = { op: 'set', count: BURST_WRITES, concurrency: BURST_IN_FLIGHT, maxMs: 30_000, key: 'b', payload: { ...PAYLOAD, seq: 0 } };
      // The burst's own changes print nothing (seq 0); the lone write's mark may arrive long after the send.
      const arrived = arrivals.expect(mark, 30_000);
      const answer = await writer.call<BurstResult>('burst', spec, { ...PAYLOAD, seq: mark }).catch((err: Error) => err);
      const at = await arrived;
      const last = at === undefined ? undefined : latest(at);
      if (answer instanceof Error) {
        errors++;
        firstError ??= answer.message;
      } else {
        if (answer.burst.errors > 0) {
          errors += answer.burst.errors;
          firstError ??= answer.burst.firstError;
        }
        burstPerSecond.push(answer.burst.done / (answer.burst.ms / 1000));
        if (last === undefined) timeouts++;
        else latencies.push(toMs(last - BigInt(answer.sentAt)));
      }
      await sleep(20);
    }
  } finally {
    await arrivals.close();
  }
  return { latencies, writes: reps * (BURST_WRITES + 1), burstPerSecond, timeouts, errors, ...(firstError ? { firstError } : {}) };
}

/** Runs a write loop inside `child`. */
export function runLoop(child: ChildNode, spec: LoopSpec): Promise<LoopResult> {
  return child.call<LoopResult>('loop', spec);
}

/** Waits until every child holds the same version (after a burst of writes). */
export async function settle(children: readonly ChildNode[], timeoutMs = 120_000): Promise<void> {
  await until(
    async () => {
      const vs = await Promise.all(children.map((c) => c.call<number>('version')));
      return vs.every((v) => v === vs[0]);
    },
    timeoutMs,
    'every child to hold the same version',
    50,
  );
}

export type Traffic = Record<string, { messages: number; bytes: number }>;

/** Messages and bytes sent and received, by type, summed over `metrics`. */
export function sumTraffic(metrics: readonly MetricsSnapshot[]): { sent: Traffic; received: Traffic } {
  const add = (out: Traffic, from: MetricsSnapshot['sent']) => {
    for (const [type, t] of Object.entries(from)) {
      const row = (out[type] ??= { messages: 0, bytes: 0 });
      row.messages += t.messages;
      row.bytes += t.bytes;
    }
  };
  const sent: Traffic = {};
  const received: Traffic = {};
  for (const m of metrics) {
    add(sent, m.sent);
    add(received, m.received);
  }
  return { sent, received };
}

export async function trafficOfChildren(children: readonly ChildNode[]): Promise<{ sent: Traffic; received: Traffic }> {
  return sumTraffic(await Promise.all(children.map((c) => c.call<MetricsSnapshot>('metrics'))));
}

export interface PerUpdate {
  /** Messages the nodes received (the change frames the scripts published, and any other), and their bytes. */
  readonly received: number;
  readonly receivedBytes: number;
  /** Messages the nodes sent themselves (heads, version requests, replies…): none on v2's write path. */
  readonly sent: number;
  readonly sentBytes: number;
  readonly byType: { readonly sent: Traffic; readonly received: Traffic };
}

/** (after − before) / updates, by type and in total. */
export function perUpdate(before: { sent: Traffic; received: Traffic }, after: { sent: Traffic; received: Traffic }, updates: number): PerUpdate {
  const diff = (b: Traffic, a: Traffic) => {
    const byType: Traffic = {};
    let messages = 0;
    let bytes = 0;
    for (const [type, x] of Object.entries(a)) {
      const y = b[type] ?? { messages: 0, bytes: 0 };
      const row = { messages: (x.messages - y.messages) / updates, bytes: (x.bytes - y.bytes) / updates };
      if (row.messages === 0) continue;
      byType[type] = row;
      messages += row.messages;
      bytes += row.bytes;
    }
    return { byType, messages, bytes };
  };
  const s = diff(before.sent, after.sent);
  const r = diff(before.received, after.received);
  return { received: r.messages, receivedBytes: r.bytes, sent: s.messages, sentBytes: s.bytes, byType: { sent: s.byType, received: r.byType } };
}
