/**
 * An OpenTelemetry exporter for simple-gossip nodes, on the
 * [OpenTelemetry API](https://github.com/open-telemetry/opentelemetry-js)
 * (`@opentelemetry/api`, an optional peer dependency: install it yourself,
 * with the SDK and the exporter of your choice). Import it from
 * `simple-gossip/opentelemetry`; the main entry point never loads it.
 *
 * ```ts
 * import { Gossip } from 'simple-gossip';
 * import { registerGossipInstruments } from 'simple-gossip/opentelemetry';
 *
 * const node = await Gossip.start({ nodeId: 'api-1' });
 * const unregister = registerGossipInstruments(node); // the global MeterProvider's meter
 * ```
 *
 * @module simple-gossip/opentelemetry
 */
import { metrics as globalMetrics, ValueType } from '@opentelemetry/api';
import type { BatchObservableCallback, Histogram, Meter, MeterProvider, Observable } from '@opentelemetry/api';
import type { LatencyKind, LatencyListener } from '../index.js';
import { LATENCY_BUCKETS_MS } from '../latency.js';
import { HISTOGRAMS, METRICS } from './catalog.js';
import type { MeteredNode, MetricDef } from './catalog.js';

/** What the exporter reads from a node: any `Gossip` fits, whatever its data type. */
export interface InstrumentedNode extends MeteredNode {
  /** The histograms record each latency as the node measures it. */
  onLatency(fn: LatencyListener): () => void;
}

/** Options of {@link registerGossipInstruments}. */
export interface GossipInstrumentsOptions {
  /**
   * Where the instruments are created: a Meter, or a MeterProvider to take
   * the meter `simple-gossip` from.
   * @default the global MeterProvider (`metrics.getMeterProvider()` of `@opentelemetry/api`)
   */
  readonly meter?: Meter | MeterProvider;
  /** Put before every instrument name. @default 'simple_gossip.' */
  readonly prefix?: string;
}

/** The prefix of every instrument name unless {@link GossipInstrumentsOptions.prefix} says otherwise. */
export const DEFAULT_PREFIX = 'simple_gossip.';

/** The name of the meter taken from a MeterProvider. */
export const METER_NAME = 'simple-gossip';

/** The histograms' bucket boundaries, in seconds (the unit of their values). */
const BOUNDS_SECONDS: readonly number[] = LATENCY_BUCKETS_MS.map((ms) => ms / 1000);

/** The nodes reported on one meter under one prefix, and the instruments that report them. */
interface Group {
  readonly nodes: Map<InstrumentedNode, () => void>;
  readonly observables: ReadonlyArray<readonly [MetricDef, Observable]>;
  readonly histograms: Readonly<Record<LatencyKind, Histogram>>;
  readonly callback: BatchObservableCallback;
}

const groups = new WeakMap<Meter, Map<string, Group>>();

/**
 * Reports a node's `node.metrics()` through OpenTelemetry: the same
 * metrics as the Prometheus exporter (`simple-gossip/prometheus`), as
 * observable counters and gauges read from the node at each collection, and
 * three histograms (`write.duration`, `convergence.duration`,
 * `catch_up.duration`, in seconds) that record each latency as the node
 * measures it, from this call on. Every measurement carries the attributes
 * `node_id` and `namespace`, so several nodes can share a meter; register
 * each of them.
 *
 * Counters: `sent.messages`, `sent.bytes`, `received.messages`,
 * `received.bytes` by `type`; `dropped.messages` by `reason`;
 * `rpc.requests` by `type` and `outcome`; `rpc.time` (s) by `type`;
 * `changes` by `outcome`; `state_reads`, `anti_entropy_rounds`,
 * `node_key_writes`. Gauges: `version`, `version_lag`, `members`,
 * `is_leader`, `ready`. All names start with `prefix`.
 *
 * @param node a started node
 * A histogram that has measured nothing yet has no data point, so the SDK
 * exports nothing for it until it has.
 *
 * @returns a function that stops reporting this node: its counters and gauges
 *   are no longer observed and its latencies no longer recorded (with
 *   cumulative temporality the SDK may go on exporting the last values it
 *   was given). Registering it again reports it again; a node registered
 *   twice is reported once.
 * @throws TypeError when `meter` is neither a Meter nor a MeterProvider
 */
export function registerGossipInstruments(node: InstrumentedNode, options: GossipInstrumentsOptions = {}): () => void {
  const meter = meterOf(options.meter);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  let byPrefix = groups.get(meter);
  if (!byPrefix) groups.set(meter, (byPrefix = new Map<string, Group>()));
  let group = byPrefix.get(prefix);
  if (!group) byPrefix.set(prefix, (group = createGroup(meter, prefix)));
  const mine = group;
  if (mine.nodes.has(node)) return () => unregister(meter, mine, node);
  if (mine.nodes.size === 0)
    meter.addBatchObservableCallback(
      mine.callback,
      mine.observables.map(([, o]) => o),
    );
  const attributes = Object.freeze({ node_id: node.id, namespace: node.namespace });
  mine.nodes.set(
    node,
    node.onLatency((kind, ms) => mine.histograms[kind].record(ms / 1000, attributes)),
  );
  return () => unregister(meter, mine, node);
}

function unregister(meter: Meter, group: Group, node: InstrumentedNode): void {
  const off = group.nodes.get(node);
  if (!off) return;
  off();
  group.nodes.delete(node);
  if (group.nodes.size === 0)
    meter.removeBatchObservableCallback(
      group.callback,
      group.observables.map(([, o]) => o),
    );
}

function meterOf(m: Meter | MeterProvider | undefined): Meter {
  if (m === undefined) return globalMetrics.getMeter(METER_NAME);
  if ('getMeter' in m && typeof m.getMeter === 'function') return m.getMeter(METER_NAME);
  if ('addBatchObservableCallback' in m && typeof m.addBatchObservableCallback === 'function') return m;
  throw new TypeError('registerGossipInstruments: `meter` must be an OpenTelemetry Meter or MeterProvider');
}

function createGroup(meter: Meter, prefix: string): Group {
  const nodes = new Map<InstrumentedNode, () => void>();
  const observables = METRICS.map((def) => {
    const opts = { description: def.help, unit: def.unit, valueType: def.unit === 's' ? ValueType.DOUBLE : ValueType.INT };
    const o = def.kind === 'counter' ? meter.createObservableCounter(prefix + def.otel, opts) : meter.createObservableGauge(prefix + def.otel, opts);
    return [def, o] as const;
  });
  const histogram = (kind: LatencyKind): Histogram => {
    const def = HISTOGRAMS.find((h) => h.kind === kind)!;
    return meter.createHistogram(prefix + def.otel, {
      description: def.help,
      unit: 's',
      valueType: ValueType.DOUBLE,
      advice: { explicitBucketBoundaries: [...BOUNDS_SECONDS] },
    });
  };
  const histograms = { write: histogram('write'), convergence: histogram('convergence'), catchUp: histogram('catchUp') };
  const callback: BatchObservableCallback = (result) => {
    for (const node of nodes.keys()) {
      const s = node.metrics();
      const base = { node_id: node.id, namespace: node.namespace };
      for (const [def, o] of observables) def.read(node, s, (labels, value) => result.observe(o, value, { ...base, ...labels }));
    }
  };
  return { nodes, observables, histograms, callback };
}
