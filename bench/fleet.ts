/**
 * Nodes in child processes, driven over stdin/stdout JSON lines (the test
 * harness's ChildNode): spawning them a few at a time, timing how long a
 * write takes to reach all of them, and summing their metrics. Every child
 * spawned here is killed by {@link killAll}, which the runner calls on any exit.
 */
import { ChildNode } from '../spec/support/child-node.js';
import type { LoopResult, LoopSpec } from '../spec/support/node-process.js';
import type { MetricsSnapshot } from '../lib/index.js';
import { CONVERGENCE_TIMEOUT_MS, PAYLOAD } from './config.js';
import type { Marks } from './config.js';
import { now, pool, sleep, until, within } from './stats.js';

const live = new Set<ChildNode>();

/** SIGKILLs every child still running (synchronous, so it works in an 'exit' handler). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
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
  /** Gossip options beyond the defaults (e.g. fencing off). */
  readonly options?: { readonly fencing?: boolean };
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
      ...(spec.options ? { options: spec.options } : {}),
    });
    live.add(child);
    return child;
  });
}

export interface ConvergenceResult {
  /** Milliseconds from sending the write to the last node reporting it. */
  readonly latencies: number[];
  readonly timeouts: number;
  readonly errors: number;
  readonly firstError?: string;
}

/**
 * Measures convergence `runs` times: a write of a fresh mark is sent to
 * `writer(i)`, and the time runs until every child has printed a 'data' line
 * with that mark (or a later one). Times are taken in this process, from the
 * moment the command is written to the child's stdin, so they include one
 * pipe hop in and one out (see {@link pipeRoundTrip}).
 */
export async function measureConvergence(
  children: readonly ChildNode[],
  writer: (i: number) => ChildNode,
  runs: number,
  marks: Marks,
): Promise<ConvergenceResult> {
  const seen = new Map<string, number>();
  let target: { mark: number; resolve: (t: number) => void } | undefined;
  const check = () => {
    if (!target) return;
    for (const c of children) if ((seen.get(c.id) ?? 0) < target.mark) return;
    const t = target;
    target = undefined;
    t.resolve(now());
  };
  const offs = children.map((c) =>
    c.onEvent((line) => {
      if (line.event !== 'data' || typeof line.mark !== 'number') return;
      if (line.mark > (seen.get(c.id) ?? 0)) seen.set(c.id, line.mark);
      check();
    }),
  );
  await Promise.all(children.map((c) => c.call('watch', 'seq')));
  const latencies: number[] = [];
  let timeouts = 0;
  let errors = 0;
  let firstError: string | undefined;
  try {
    for (let i = 0; i < runs; i++) {
      const mark = marks.next();
      const arrived = new Promise<number>((resolve) => (target = { mark, resolve }));
      const w = writer(i);
      const t0 = now();
      const written = w.call('set', { ...PAYLOAD, seq: mark }).then(
        () => undefined,
        (err: Error) => err,
      );
      const t1 = await within(arrived, CONVERGENCE_TIMEOUT_MS);
      target = undefined;
      if (t1 === undefined) timeouts++;
      else latencies.push(t1 - t0);
      const err = await written;
      if (err) {
        errors++;
        firstError ??= err.message;
      }
      // Let the last duplicate pushes land before the next write.
      await sleep(t1 === undefined ? 100 : 2);
    }
  } finally {
    for (const off of offs) off();
    await Promise.all(children.map((c) => c.call('watch', null).catch(() => undefined)));
  }
  return { latencies, timeouts, errors, ...(firstError ? { firstError } : {}) };
}

/** Round trips of a trivial command to a child: the harness's own share of every child timing. */
export async function pipeRoundTrip(child: ChildNode, runs = 200): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    await child.call('version');
    out.push(now() - t0);
  }
  return out;
}

/** Runs a write loop inside `child`. */
export function runLoop(child: ChildNode, spec: LoopSpec): Promise<LoopResult> {
  return child.call<LoopResult>('loop', spec);
}

/** Waits until every child holds the same version (after a burst of writes). */
export async function settle(children: readonly ChildNode[], timeoutMs = 120_000): Promise<void> {
  await until(async () => {
    const vs = await Promise.all(children.map((c) => c.call<number>('version')));
    return vs.every((v) => v === vs[0]);
  }, timeoutMs, 'every child to hold the same version', 50);
}

export type Traffic = Record<string, { messages: number; bytes: number }>;

/** Messages and bytes sent, by type, summed over `metrics`. */
export function sumSent(metrics: readonly MetricsSnapshot[]): Traffic {
  const out: Traffic = {};
  for (const m of metrics) {
    for (const [type, t] of Object.entries(m.sent)) {
      const row = (out[type] ??= { messages: 0, bytes: 0 });
      row.messages += t.messages;
      row.bytes += t.bytes;
    }
  }
  return out;
}

export async function sentByChildren(children: readonly ChildNode[]): Promise<Traffic> {
  return sumSent(await Promise.all(children.map((c) => c.call<MetricsSnapshot>('metrics'))));
}

export interface PerUpdate {
  readonly messages: number;
  readonly bytes: number;
  /** Full-rumor pushes down the epidemic tree (the original's "full-rumor messages"). */
  readonly pushes: number;
  readonly pushBytes: number;
  readonly byType: Traffic;
}

/** (after − before) / updates, by type and in total. */
export function perUpdate(before: Traffic, after: Traffic, updates: number): PerUpdate {
  const byType: Traffic = {};
  let messages = 0;
  let bytes = 0;
  for (const [type, a] of Object.entries(after)) {
    const b = before[type] ?? { messages: 0, bytes: 0 };
    const row = { messages: (a.messages - b.messages) / updates, bytes: (a.bytes - b.bytes) / updates };
    if (row.messages === 0) continue;
    byType[type] = row;
    messages += row.messages;
    bytes += row.bytes;
  }
  return { messages, bytes, pushes: byType.push?.messages ?? 0, pushBytes: byType.push?.bytes ?? 0, byType };
}
