/**
 * The latency histograms of metrics(): what is timed (writes, …Sync calls,
 * catch-ups), on which node, and that each lies within what the test
 * measured around it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Gossip, LatencyKind } from '../../lib/index.js';
import { eventually, useNodes } from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();

let proxy: FaultProxy | undefined;
// Registered first, so it runs after the nodes are stopped (hooks run in reverse): a node stops through its proxy.
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
const { start, cluster } = useNodes(redis);

const latency = (n: Gossip<unknown>, kind: LatencyKind) => n.metrics().latency[kind];

/** Runs `call` and returns how long it took as the test saw it, and how much `kind` grew on `node` meanwhile. */
async function measured(node: Gossip<unknown>, kind: LatencyKind, call: () => Promise<unknown>) {
  const before = latency(node, kind);
  const t0 = performance.now();
  await call();
  const outerMs = performance.now() - t0;
  const after = latency(node, kind);
  return { outerMs, count: after.count - before.count, ms: after.sumMs - before.sumMs };
}

describe('latency histograms in metrics()', () => {
  it('every write call is timed on the writer until it resolved, and only there', async () => {
    const [a, b] = await cluster(['a', 'b']);
    const start = latency(a!, 'write');
    await a!.setCfg('x', 1);
    await a!.patchCfg({ y: 2, z: 3 });
    await a!.deleteCfg('z');
    await a!.set((cur: Record<string, unknown> | undefined) => ({ change: { ...cur, w: 4 } }));
    const one = await measured(a!, 'write', () => a!.setCfg('x', 5));
    const write = latency(a!, 'write');
    expect(write.count).toBe(start.count + 5);
    expect(one.count).toBe(1);
    expect(one.ms).toBeGreaterThan(0);
    expect(one.ms).toBeLessThanOrEqual(one.outerMs);
    // The buckets add up to the count, one more bucket than bounds.
    expect(write.counts).toHaveLength(write.boundsMs.length + 1);
    expect(write.counts.reduce((s, c) => s + c, 0)).toBe(write.count);
    // The other member applied the changes; it wrote nothing and waited for nothing.
    await eventually(() => b!.version === a!.version);
    expect(latency(b!, 'write').count).toBe(0);
    expect(latency(a!, 'convergence').count).toBe(0);
  });

  it('writes called together are timed one by one, though they commit together', async () => {
    const a = await start('a');
    const before = a.version;
    const calls = await measured(a, 'write', () => Promise.all(Array.from({ length: 10 }, (_, i) => a.setCfg(`k${i}`, i))));
    expect(a.version - before).toBeLessThan(10); // grouped into fewer commits
    expect(calls.count).toBe(10);
    expect(calls.ms).toBeLessThanOrEqual(10 * calls.outerMs);
  });

  it('a write that is refused before it is sent is not timed', async () => {
    const a = await start('a');
    const before = latency(a, 'write').count;
    await expect(a.setCfg('f', () => 1)).rejects.toThrow();
    expect(latency(a, 'write').count).toBe(before);
  });

  it('each …Sync call is timed as a convergence, from the call until every member holds the version, and its write as a write', async () => {
    const [a] = await cluster(['a', 'b', 'c']);
    const sync = await measured(a!, 'convergence', () => a!.setSync({ k: 1 }));
    expect(sync.count).toBe(1);
    expect(sync.ms).toBeGreaterThan(0);
    expect(sync.ms).toBeLessThanOrEqual(sync.outerMs);
    const cfg = await measured(a!, 'convergence', () => a!.setCfgSync('k', 2));
    const del = await measured(a!, 'convergence', () => a!.deleteCfgSync('k', { wait: 'majority' }));
    expect([cfg.count, del.count]).toEqual([1, 1]);
    expect(latency(a!, 'write').count).toBe(3);
    // A convergence includes its write: the sum of the three is at least that of their writes.
    expect(latency(a!, 'convergence').sumMs).toBeGreaterThanOrEqual(latency(a!, 'write').sumMs);
  });

  it('a …Sync call that times out is not timed as a convergence', async () => {
    const [a, b] = await cluster(['a', 'b']);
    await b!.stop(); // still a member: setSync waits for it in vain
    await expect(a!.setCfgSync('k', 1, { timeoutMs: 200 })).rejects.toThrow();
    expect(latency(a!, 'convergence').count).toBe(0);
    expect(latency(a!, 'write').count).toBe(1);
  });

  it('a node cut off from Redis while another writes times its catch-up, from learning it is behind until it holds the version', async () => {
    proxy = await FaultProxy.start(redis());
    const a = await start('a');
    const b = await start('b', { redis: proxy.url });
    b.on('error', () => undefined); // the reconnect is reported there
    await a.join('b');
    await eventually(() => b.nodes.length === 2 && b.version === a.version);
    expect(latency(b, 'catchUp').count).toBe(0);

    proxy.setMode('drop');
    await eventually(() => !b.ready);
    await a.setCfg('missed', 1);
    await a.setCfg('missed', 2);
    // It really missed them.
    expect(b.version).toBeLessThan(a.version);
    proxy.setMode('pass');
    const restoredAt = performance.now();

    await eventually(() => b.version === a.version && b.getCfg('missed') === 2, 10_000);
    const sinceRestore = performance.now() - restoredAt;
    const catchUp = latency(b, 'catchUp');
    expect(catchUp.count).toBeGreaterThanOrEqual(1);
    expect(catchUp.sumMs).toBeGreaterThan(0);
    // It learned it was behind after the link came back: each catch-up lies within that time.
    expect(catchUp.sumMs / catchUp.count).toBeLessThanOrEqual(sinceRestore);
    // The writer was never behind.
    expect(latency(a, 'catchUp').count).toBe(0);
  }, 30_000);

  it('onLatency gives each latency as it is measured; a listener that throws is reported on error and breaks no write', async () => {
    const a = await start('a');
    const errors: Error[] = [];
    a.on('error', (e) => errors.push(e));
    const seen: Array<[LatencyKind, number]> = [];
    const offBad = a.onLatency(() => {
      throw new Error('listener bug');
    });
    const off = a.onLatency((kind, ms) => seen.push([kind, ms]));
    await a.setCfgSync('k', 1);
    expect(seen.map(([k]) => k)).toEqual(['write', 'convergence']);
    const { write, convergence } = a.metrics().latency;
    expect(seen[0]![1]).toBeCloseTo(write.sumMs, 9);
    expect(seen[1]![1]).toBeCloseTo(convergence.sumMs, 9);
    await eventually(() => errors.length === 2);
    expect(errors[0]!.message).toMatch(/latency.*listener bug/);
    off();
    offBad();
    await a.setCfg('k', 2);
    expect(seen).toHaveLength(2);
    expect(errors).toHaveLength(2);
  });
});
