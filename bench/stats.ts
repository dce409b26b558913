/** Small numeric helpers for the benchmarks: percentiles, timing, waiting. */
import { performance } from 'node:perf_hooks';

export interface Summary {
  readonly samples: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentiles of `xs` (any unit); NaN everywhere when empty. */
export function summarize(xs: readonly number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!);
  const mean = s.length === 0 ? Number.NaN : s.reduce((a, b) => a + b, 0) / s.length;
  return { samples: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), mean, min: at(0), max: at(1) };
}

export function median(xs: readonly number[]): number {
  return summarize(xs).p50;
}

export const now = (): number => performance.now();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves to `p`'s value, or to `undefined` after `ms` (and clears its timer either way). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs` naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<X, Y>(items: readonly X[], limit: number, fn: (x: X, i: number) => Promise<Y>): Promise<Y[]> {
  const out = new Array<Y>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Runs `run` `times` times, one after another; the result with the highest `score`. */
export async function bestOf<T>(times: number, run: () => Promise<T>, score: (t: T) => number): Promise<T> {
  let best: T | undefined;
  for (let i = 0; i < times; i++) {
    const r = await run();
    if (best === undefined || score(r) > score(best)) best = r;
  }
  return best!;
}
