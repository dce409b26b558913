/**
 * The OpenTelemetry exporter, read through the SDK's in-memory exporter
 * (a PeriodicExportingMetricReader flushed by hand) against a real Redis.
 */
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import type { Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { registerGossipInstruments } from '../../lib/exporters/opentelemetry.js';
import type { Gossip } from '../../lib/index.js';
import { LATENCY_BUCKETS_MS } from '../../lib/index.js';
import { useNodes } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

/** An SDK MeterProvider whose reader exports only when the test flushes it. */
function sdk() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  cleanup.push(() => provider.shutdown());
  /** Collects once: the metrics of that collection, by name. */
  const collect = async (): Promise<Map<string, MetricData>> => {
    exporter.reset();
    await reader.forceFlush();
    const all = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    return new Map(all.map((m) => [m.descriptor.name, m]));
  };
  return { provider, collect };
}

let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  const steps = cleanup;
  cleanup = [];
  for (const step of steps.reverse()) await step();
});

/** The value of one data point of `metric` whose attributes include `attrs`. */
function point(metric: MetricData | undefined, attrs: Record<string, string>): unknown {
  const found = metric?.dataPoints.filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)) ?? [];
  if (found.length > 1) throw new Error(`${found.length} data points of ${metric?.descriptor.name} match ${JSON.stringify(attrs)}`);
  return found[0]?.value;
}

const COUNTERS = [
  'sent.messages',
  'sent.bytes',
  'received.messages',
  'received.bytes',
  'dropped.messages',
  'anti_entropy_rounds',
  'state_reads',
  'node_key_writes',
  'invalid_states',
  'changes',
  'rpc.requests',
  'rpc.time',
];
const GAUGES = ['version', 'members', 'version_lag', 'is_leader', 'ready'];
const HISTOGRAMS = ['write.duration', 'convergence.duration', 'catch_up.duration'];

describe('the OpenTelemetry exporter', () => {
  it('two nodes that write: every instrument, with node_id and namespace, the counts the nodes keep and a histogram measurement per write', async () => {
    const { provider, collect } = sdk();
    const [a, b] = await cluster(['a', 'b']);
    for (const n of [a!, b!]) cleanup.push(registerGossipInstruments(n, { meter: provider }));
    const applied = (n: Gossip) => n.metrics().counters['changes.applied'] ?? 0;
    const appliedBefore = [applied(a!), applied(b!)];
    for (let i = 0; i < 3; i++) await a!.setSync({ i });
    await b!.setCfg('from-b', 1);
    await b!.setCfgSync('from-b', 2);
    await a!.status();

    const got = await collect();
    const ns = namespace();
    // Nobody caught up yet: a histogram with no measurement has no data point, and the SDK exports no metric without one.
    const measured = HISTOGRAMS.filter((n) => n !== 'catch_up.duration');
    expect([...got.keys()].sort()).toEqual([...COUNTERS, ...GAUGES, ...measured].map((n) => `simple_gossip.${n}`).sort());
    for (const name of COUNTERS) expect(got.get(`simple_gossip.${name}`)!.dataPointType, name).toBe(DataPointType.SUM);
    for (const name of GAUGES) expect(got.get(`simple_gossip.${name}`)!.dataPointType, name).toBe(DataPointType.GAUGE);
    for (const name of measured) {
      const m = got.get(`simple_gossip.${name}`)!;
      expect(m.dataPointType, name).toBe(DataPointType.HISTOGRAM);
      expect(m.descriptor.unit).toBe('s');
    }
    expect(got.get('simple_gossip.sent.bytes')!.descriptor.unit).toBe('By');
    expect(got.get('simple_gossip.version')!.descriptor.description).toMatch(/version this node holds/);

    const at = (n: Gossip, extra: Record<string, string> = {}) => ({ node_id: n.id, namespace: ns, ...extra });
    for (const n of [a!, b!]) {
      expect(point(got.get('simple_gossip.version'), at(n))).toBe(n.version);
      expect(point(got.get('simple_gossip.members'), at(n))).toBe(2);
      expect(point(got.get('simple_gossip.ready'), at(n))).toBe(1);
      expect(point(got.get('simple_gossip.is_leader'), at(n))).toBe(n.leader === n.id ? 1 : 0);
      expect(point(got.get('simple_gossip.dropped.messages'), at(n, { reason: 'bad_json' }))).toBe(0);
    }
    // Each node applied the other's changes, as it counts them itself.
    expect(point(got.get('simple_gossip.changes'), at(b!, { outcome: 'applied' }))).toBe(appliedBefore[1]! + 3);
    expect(point(got.get('simple_gossip.changes'), at(a!, { outcome: 'applied' }))).toBe(appliedBefore[0]! + 2);
    expect(point(got.get('simple_gossip.received.messages'), at(b!, { type: 'change' }))).toBeGreaterThanOrEqual(3);
    // The other member acked each setSync's change; status() asked it for its version.
    expect(point(got.get('simple_gossip.received.messages'), at(a!, { type: 'ack' }))).toBe(3);
    expect(point(got.get('simple_gossip.rpc.requests'), at(a!, { type: 'vsn', outcome: 'answered' }))).toBe(1);
    expect(point(got.get('simple_gossip.rpc.time'), at(a!, { type: 'vsn' }))).toBeGreaterThan(0);

    // One measurement per write and per …Sync call, on the node that made it, in seconds and the library's buckets.
    const histogram = (name: string, n: Gossip) => point(got.get(`simple_gossip.${name}`), at(n)) as Histogram | undefined;
    expect(histogram('write.duration', a!)?.count).toBe(3);
    expect(histogram('convergence.duration', a!)?.count).toBe(3);
    expect(histogram('write.duration', b!)?.count).toBe(2);
    expect(histogram('convergence.duration', b!)?.count).toBe(1);
    const writes = histogram('write.duration', a!)!;
    const mine = a!.metrics().latency.write;
    expect(writes.buckets.boundaries).toEqual(LATENCY_BUCKETS_MS.map((ms) => ms / 1000));
    expect(writes.buckets.counts).toEqual(mine.counts);
    expect(writes.sum).toBeCloseTo(mine.sumMs / 1000, 9);
  });

  it('a Meter, a custom prefix; a node registered twice is reported once, and unregistered, not at all', async () => {
    const { provider, collect } = sdk();
    const a = await start('a');
    const b = await start('b');
    const meter = provider.getMeter('my-app');
    const offA = registerGossipInstruments(a, { meter, prefix: 'app.gossip.' });
    const offAgain = registerGossipInstruments(a, { meter, prefix: 'app.gossip.' });
    cleanup.push(registerGossipInstruments(b, { meter, prefix: 'app.gossip.' }));
    await a.setCfg('k', 1);

    const first = await collect();
    expect([...first.keys()].every((name) => name.startsWith('app.gossip.'))).toBe(true);
    expect(first.get('app.gossip.version')!.dataPoints.filter((p) => p.attributes.node_id === 'a')).toHaveLength(1);
    expect((point(first.get('app.gossip.write.duration'), { node_id: 'a' }) as Histogram).count).toBe(1);

    offA();
    offAgain(); // the same registration: harmless
    offA();
    const versionAtOff = a.version;
    await a.setCfg('k', 2); // neither observed nor recorded any more
    await b.setCfg('k', 1);
    const second = await collect();
    // With cumulative temporality the SDK may keep exporting the last value it was given; never a newer one.
    expect(a.version).toBe(versionAtOff + 1);
    expect([undefined, versionAtOff]).toContain(point(second.get('app.gossip.version'), { node_id: 'a' }));
    expect(point(second.get('app.gossip.version'), { node_id: 'b' })).toBe(b.version);
    expect([undefined, 1]).toContain((point(second.get('app.gossip.write.duration'), { node_id: 'a' }) as Histogram | undefined)?.count);
    expect((point(second.get('app.gossip.write.duration'), { node_id: 'b' }) as Histogram).count).toBe(1);

    // Registered again, it is reported again.
    cleanup.push(registerGossipInstruments(a, { meter, prefix: 'app.gossip.' }));
    await a.setCfg('k', 3);
    const third = await collect();
    expect(point(third.get('app.gossip.version'), { node_id: 'a' })).toBe(a.version);
    expect((point(third.get('app.gossip.write.duration'), { node_id: 'a' }) as Histogram).count).toBe(2);
  });

  it('without a meter it uses the global MeterProvider; anything else is refused', async () => {
    const { metrics } = await import('@opentelemetry/api');
    const { provider, collect } = sdk();
    metrics.setGlobalMeterProvider(provider);
    cleanup.push(() => metrics.disable());
    const a = await start('a');
    cleanup.push(registerGossipInstruments(a));
    const got = await collect();
    expect(point(got.get('simple_gossip.version'), { node_id: 'a' })).toBe(1);
    expect(got.size).toBeGreaterThan(0);
    // @ts-expect-error: not a Meter
    expect(() => registerGossipInstruments(a, { meter: {} })).toThrow(TypeError);
  });
});
