/**
 * A Prometheus exporter for simple-gossip nodes, built on
 * [prom-client](https://github.com/siimon/prom-client) (an optional peer
 * dependency: install it yourself). Import it from `simple-gossip/prometheus`;
 * the main entry point never loads prom-client.
 *
 * ```ts
 * import { Gossip } from 'simple-gossip';
 * import { registerGossipMetrics } from 'simple-gossip/prometheus';
 *
 * const node = await Gossip.start({ nodeId: 'api-1' });
 * const unregister = registerGossipMetrics(node); // prom-client's default registry
 * ```
 *
 * @module simple-gossip/prometheus
 */
import { Counter, Gauge, register as globalRegistry } from 'prom-client';
import type { Metric, MetricValueWithName, OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';
import type { LatencyKind, MetricsSnapshot } from '../index.js';
import { cumulative, LATENCY_BUCKETS_MS } from '../latency.js';
import { HISTOGRAMS, METRICS } from './catalog.js';
import type { MeteredNode, MetricDef } from './catalog.js';

export type { MeteredNode } from './catalog.js';

/** A prom-client registry, in Prometheus or OpenMetrics format. */
export type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Options of {@link registerGossipMetrics}. */
export interface GossipMetricsOptions {
  /** The registry the metrics live in. @default prom-client's global `register` */
  readonly registry?: AnyRegistry;
  /** Put before every metric name. @default 'simple_gossip_' */
  readonly prefix?: string;
}

/** The prefix of every metric name unless {@link GossipMetricsOptions.prefix} says otherwise. */
export const DEFAULT_PREFIX = 'simple_gossip_';

type NodeLabels = 'node_id' | 'namespace';
type Snap = MetricsSnapshot;

/** The buckets' upper bounds in seconds, as the `le` label shows them. */
const BOUNDS_SECONDS: readonly number[] = LATENCY_BUCKETS_MS.map((ms) => ms / 1000);

/** The nodes reported on one registry under one prefix, and the metrics that report them. */
interface Group {
  readonly nodes: Set<MeteredNode>;
  /** Each metric by its full name. */
  readonly metrics: ReadonlyMap<string, unknown>;
}

const groups = new WeakMap<AnyRegistry, Map<string, Group>>();

/**
 * Reports a node's {@link Gossip.metrics} to Prometheus through prom-client.
 * Nothing is counted twice: the values are read from the node when the
 * registry is scraped. Every series carries the labels `node_id` and
 * `namespace`, so several nodes (of one process, or of several clusters) can
 * share a registry; register each of them.
 *
 * Counters: `messages_sent_total` / `messages_received_total` and
 * `sent_bytes_total` / `received_bytes_total` by message `type` (`change`,
 * `head`, `vsn`, `headreq`, `restore`, `reply`), `messages_dropped_total` by
 * `reason`, `rpc_requests_total` by `type` and `outcome`, `rpc_seconds_total`
 * by `type`, `changes_total` by `outcome` (`applied`, `stale`, `read`),
 * `state_reads_total`, `anti_entropy_rounds_total`, `node_key_writes_total`.
 * Gauges: `version`, `version_lag`, `members`, `is_leader` (1 or 0: the
 * member that does the housekeeping), `ready` (1 while the
 * node runs with its Redis connections up). Histograms (`_bucket` with `le`
 * in seconds, `_sum`, `_count`): `write_duration_seconds`,
 * `convergence_duration_seconds`, `catch_up_duration_seconds` (see
 * {@link LatencyKind}). All names start with `prefix`.
 *
 * @param node a started node
 * @returns a function that stops reporting this node (its series disappear
 *   from the next scrape; the metrics leave the registry with the last node).
 *   A stopped node keeps its last values until then.
 * @throws Error when the registry already holds another metric of one of these names
 */
export function registerGossipMetrics(node: MeteredNode, options: GossipMetricsOptions = {}): () => void {
  const registry = options.registry ?? globalRegistry;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  let byPrefix = groups.get(registry);
  if (!byPrefix) groups.set(registry, (byPrefix = new Map<string, Group>()));
  let group = byPrefix.get(prefix);
  // The registry may have been cleared since (registry.clear()): build the metrics again.
  if (!group || !registered(registry, group)) {
    if (group) removeGroup(registry, group);
    group = createGroup(registry, prefix);
    byPrefix.set(prefix, group);
  }
  const mine = group;
  mine.nodes.add(node);
  return () => {
    if (!mine.nodes.delete(node) || mine.nodes.size > 0) return;
    removeGroup(registry, mine);
    if (byPrefix.get(prefix) === mine) byPrefix.delete(prefix);
  };
}

function registered(registry: AnyRegistry, group: Group): boolean {
  return [...group.metrics].every(([name, metric]) => registry.getSingleMetric(name) === metric);
}

/** Removes the group's metrics, and never a metric of the same name that someone else registered. */
function removeGroup(registry: AnyRegistry, group: Group): void {
  for (const [name, metric] of group.metrics) {
    if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name);
  }
}

function createGroup(registry: AnyRegistry, prefix: string): Group {
  const nodes = new Set<MeteredNode>();
  const scrape = scrapeOnce(nodes);
  const metrics = new Map<string, unknown>();
  const labelsOf = (node: MeteredNode): Record<NodeLabels, string> => ({ node_id: node.id, namespace: node.namespace });

  /** A counter or gauge whose series are set from the nodes' snapshots at each scrape. */
  function metric(def: MetricDef): void {
    const config = {
      name: prefix + def.prom,
      help: def.help,
      labelNames: ['node_id', 'namespace', ...def.labels],
      registers: [registry],
    };
    const m =
      def.kind === 'counter'
        ? new Counter<string>({
            ...config,
            collect() {
              this.reset();
              for (const [node, s] of scrape()) def.read(node, s, (labels, value) => this.inc({ ...labelsOf(node), ...labels }, value));
            },
          })
        : new Gauge<string>({
            ...config,
            collect() {
              this.reset();
              for (const [node, s] of scrape()) def.read(node, s, (labels, value) => this.set({ ...labelsOf(node), ...labels }, value));
            },
          });
    metrics.set(prefix + def.prom, m);
  }

  /**
   * prom-client's Histogram counts observations itself; these come counted
   * from the nodes, so the metric is one of ours that the registry reads as
   * it reads any: name, help, type, and the values from get().
   */
  function histogram(name: string, help: string, kind: LatencyKind): void {
    const full = prefix + name;
    const m: HistogramReader = {
      name: full,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: () => Promise.resolve({ name: full, help, type: 'histogram', aggregator: 'sum', values: histogramValues(full, kind, scrape(), labelsOf) }),
      reset: () => undefined,
    };
    // The registry only reads name, type and get() (and calls reset()); see HistogramReader.
    registry.registerMetric(m as unknown as Metric);
    metrics.set(full, m);
  }

  try {
    for (const def of METRICS) metric(def);
    for (const def of HISTOGRAMS) histogram(def.prom, def.help, def.kind);
  } catch (err) {
    removeGroup(registry, { nodes, metrics });
    throw err;
  }
  return { nodes, metrics };
}

/** What prom-client's registry uses of a metric it holds. */
interface HistogramReader {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: MetricValueWithName<string>[] }>;
  reset(): void;
}

/** A histogram's series, in seconds: the cumulative `_bucket`s (`+Inf` last), `_sum` and `_count` of every node. */
function histogramValues(
  name: string,
  kind: LatencyKind,
  snaps: ReadonlyArray<readonly [MeteredNode, Snap]>,
  labelsOf: (node: MeteredNode) => Record<NodeLabels, string>,
): MetricValueWithName<string>[] {
  const values: MetricValueWithName<string>[] = [];
  for (const [node, s] of snaps) {
    const labels = labelsOf(node);
    const h = s.latency[kind];
    const buckets = cumulative(h.counts);
    BOUNDS_SECONDS.forEach((le, i) => values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: buckets[i] ?? 0 }));
    values.push(
      { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count },
      { metricName: `${name}_sum`, labels, value: h.sumMs / 1000 },
      { metricName: `${name}_count`, labels, value: h.count },
    );
  }
  return values;
}

/**
 * One snapshot per node per scrape: prom-client calls every metric's collect
 * in the same synchronous pass, so the cache lives until the next microtask
 * and all series of a scrape come from the same moment.
 */
function scrapeOnce(nodes: ReadonlySet<MeteredNode>): () => ReadonlyArray<readonly [MeteredNode, Snap]> {
  let cached: Array<readonly [MeteredNode, Snap]> | undefined;
  return () => {
    if (!cached) {
      cached = [...nodes].map((node) => [node, node.metrics()] as const);
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached;
  };
}
