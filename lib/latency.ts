/**
 * Latency histograms with fixed buckets: recording one latency is a bucket
 * search over a short constant list and three additions, no allocation.
 */

/**
 * The upper bounds of the latency buckets, in ms. A latency falls in the first
 * bucket whose bound is at least it (as Prometheus's `le` and OpenTelemetry's
 * explicit buckets count); one more bucket holds those above the last bound.
 */
export const LATENCY_BUCKETS_MS: readonly number[] = Object.freeze([0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000]);

/**
 * What is timed:
 * - `write`: a `set`/`setCfg`/`deleteCfg`/`patchCfg` call (and the write of a
 *   `…Sync` call) until it resolved, the writer holding its version;
 * - `convergence`: a `setSync`/`setCfgSync`/`deleteCfgSync` call until the
 *   members it waits for (every member by default) hold the version;
 * - `catchUp`: from the moment a node learned it was behind (a change after a
 *   gap, a member's head with a higher version, or Redis's head on its tick
 *   or after a reconnect) until it held that version (by the read of the
 *   state it started).
 */
export type LatencyKind = 'write' | 'convergence' | 'catchUp';

/** Every {@link LatencyKind}, in the order the exporters list them. */
export const LATENCY_KINDS: readonly LatencyKind[] = Object.freeze(['write', 'convergence', 'catchUp'] as const);

/** One histogram in {@link MetricsSnapshot.latency}. */
export interface HistogramSnapshot {
  /** How many latencies were recorded. */
  readonly count: number;
  /** Their sum, in ms. */
  readonly sumMs: number;
  /** The buckets' upper bounds, in ms ({@link LATENCY_BUCKETS_MS}). */
  readonly boundsMs: readonly number[];
  /**
   * How many fell in each bucket, not cumulative: `counts[i]` those above
   * `boundsMs[i - 1]` and at most `boundsMs[i]`; the last entry (one more
   * than there are bounds) those above the highest bound. They add up to `count`.
   */
  readonly counts: readonly number[];
}

/** Called with each latency as it is recorded, in ms. */
export type LatencyListener = (kind: LatencyKind, ms: number) => void;

/** The bucket `ms` falls in: the first whose bound is at least `ms`, or the last (above every bound). */
export function bucketIndex(ms: number): number {
  const bounds = LATENCY_BUCKETS_MS;
  let i = 0;
  while (i < bounds.length && ms > bounds[i]!) i++;
  return i;
}

export class Histogram {
  readonly #counts: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  #count = 0;
  #sumMs = 0;

  observe(ms: number): void {
    this.#counts[bucketIndex(ms)]!++;
    this.#count++;
    this.#sumMs += ms;
  }

  snapshot(): HistogramSnapshot {
    return { count: this.#count, sumMs: this.#sumMs, boundsMs: [...LATENCY_BUCKETS_MS], counts: [...this.#counts] };
  }
}

/** `counts` (as in {@link HistogramSnapshot}) made cumulative: one per bound, then the total (Prometheus's `le` buckets, `+Inf` last). */
export function cumulative(counts: readonly number[]): number[] {
  let sum = 0;
  return counts.map((c) => (sum += c));
}
