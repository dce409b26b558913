import { describe, expect, it } from 'vitest';
import { bucketIndex, cumulative, Histogram, LATENCY_BUCKETS_MS } from '../../lib/latency.js';
import { Metrics } from '../../lib/metrics.js';

/** A clock the test moves by hand. */
function manualClock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('latency buckets', () => {
  it('a latency falls in the first bucket whose bound is at least it; above every bound, in the last', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(0.25)).toBe(0);
    expect(bucketIndex(0.26)).toBe(1);
    expect(bucketIndex(1)).toBe(2);
    expect(bucketIndex(3)).toBe(4); // (2, 5]
    expect(bucketIndex(1_000)).toBe(LATENCY_BUCKETS_MS.indexOf(1_000));
    expect(bucketIndex(5_000)).toBe(LATENCY_BUCKETS_MS.length - 1);
    expect(bucketIndex(5_000.1)).toBe(LATENCY_BUCKETS_MS.length);
    expect(bucketIndex(Number.POSITIVE_INFINITY)).toBe(LATENCY_BUCKETS_MS.length);
  });

  it('the bounds go up and are frozen', () => {
    expect([...LATENCY_BUCKETS_MS].sort((a, b) => a - b)).toEqual([...LATENCY_BUCKETS_MS]);
    expect(Object.isFrozen(LATENCY_BUCKETS_MS)).toBe(true);
  });

  it('a histogram counts per bucket, with the count and the sum', () => {
    const h = new Histogram();
    for (const ms of [0.1, 0.2, 3, 4, 7_000]) h.observe(ms);
    const s = h.snapshot();
    expect(s.count).toBe(5);
    expect(s.sumMs).toBeCloseTo(7_007.3);
    expect(s.boundsMs).toEqual(LATENCY_BUCKETS_MS);
    expect(s.counts).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    expect(s.counts[0]).toBe(2);
    expect(s.counts[4]).toBe(2);
    expect(s.counts.at(-1)).toBe(1);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('cumulative counts end with the total', () => {
    expect(cumulative([2, 0, 1, 3])).toEqual([2, 2, 3, 6]);
    expect(cumulative([])).toEqual([]);
  });

  it('a snapshot is a copy: later latencies do not change it', () => {
    const h = new Histogram();
    h.observe(1);
    const s = h.snapshot();
    h.observe(1);
    expect(s.count).toBe(1);
    expect(s.counts[2]).toBe(1);
  });
});

describe('Metrics latencies', () => {
  it('a write is timed from its start until now', () => {
    const clock = manualClock();
    const m = new Metrics({ now: clock.now });
    const started = m.now();
    clock.advance(3);
    expect(m.timed('write', started, 42)).toBe(42);
    const { write, convergence } = latency(m);
    expect(write.count).toBe(1);
    expect(write.sumMs).toBe(3);
    expect(write.counts[4]).toBe(1);
    expect(convergence.count).toBe(0);
  });

  it('a catch-up is timed from the first time the node learned it was behind until it holds that version', () => {
    const clock = manualClock();
    const m = new Metrics({ now: clock.now });
    m.behind('c1', 10);
    clock.advance(4);
    m.behind('c1', 12); // still behind: the catch-up started at the first
    clock.advance(3);
    m.holds('c1', 9);
    expect(latency(m).catchUp.count).toBe(0);
    clock.advance(3);
    m.holds('c1', 10);
    expect(latency(m).catchUp).toMatchObject({ count: 1, sumMs: 10 });
    // Caught up: holding a later version times nothing more.
    m.holds('c1', 12);
    expect(latency(m).catchUp.count).toBe(1);
  });

  it('a catch-up in a cluster the node has left is dropped, not timed', () => {
    const clock = manualClock();
    const m = new Metrics({ now: clock.now });
    m.behind('c1', 10);
    clock.advance(5);
    m.holds('c2', 11);
    m.holds('c1', 10);
    expect(latency(m).catchUp.count).toBe(0);
  });

  it('listeners get every latency; one that throws is reported and the others still get it', () => {
    const clock = manualClock();
    const failures: unknown[] = [];
    const m = new Metrics({ now: clock.now, onListenerError: (err) => failures.push(err) });
    const seen: Array<[string, number]> = [];
    m.onLatency(() => {
      throw new Error('boom');
    });
    const off = m.onLatency((kind, ms) => seen.push([kind, ms]));
    const started = m.now();
    clock.advance(2);
    m.latency('convergence', started);
    off();
    m.latency('write', started);
    expect(seen).toEqual([['convergence', 2]]);
    expect(failures).toHaveLength(2);
    expect(latency(m).write.count).toBe(1);
  });
});

function latency(m: Metrics) {
  return m.snapshot({ version: 0, members: 0, snapshotWrites: 0, versionLag: 0 }).latency;
}
