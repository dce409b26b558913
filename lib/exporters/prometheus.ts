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
import type { OpenMetricsContentType, PrometheusContentType, Registry } from 'prom-client';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Gossip is used by the {@link Gossip} comments below (typedoc and editors resolve them through this import)
import type { DropReason, Gossip, MetricsSnapshot } from '../index.js';

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

/** Every reason a message is dropped: each is reported from 0 on, so a rate never starts from nothing. */
const DROP_REASONS = [
  'too_big',
  'bad_json',
  'bad_shape',
  'wrong_namespace',
  'unknown_protocol',
  'unknown_type',
  'bad_signature',
  'replay',
  'wrong_addressee',
] as const satisfies readonly DropReason[];
// Fails to compile when DropReason gains a reason this list lacks.
const allDropReasons: Exclude<DropReason, (typeof DROP_REASONS)[number]> extends never ? true : never = true;
void allDropReasons; // the constant exists only for that check

/** What the exporter reads from a node: any {@link Gossip} fits, whatever its data type. */
export interface MeteredNode {
  /** The `node_id` label. */
  readonly id: string;
  /** The `namespace` label. */
  readonly namespace: string;
  /** Compared with `id` for `is_leader`. */
  readonly leader: string;
  /** The `ready` gauge. */
  readonly ready: boolean;
  /** Read once per node per scrape. */
  metrics(): MetricsSnapshot;
}

type NodeLabels = 'node_id' | 'namespace';
type Snap = MetricsSnapshot;

/** A counter read from `snapshot.counters`: [metric name, counter key, help]. */
const EVENT_COUNTERS: readonly (readonly [string, string, string])[] = [
  ['anti_entropy_rounds_total', 'antiEntropyRounds', 'Anti-entropy rounds: ticks that sent this node\'s head to random members and compared it with Redis.'],
  ['state_reads_total', 'reads', 'Reads of the cluster\'s whole state from Redis (to catch up, or after a change of members or settings).'],
  ['node_key_writes_total', 'nodeKeyWrites', 'Writes of this node\'s key in Redis (its cluster, version and members), on membership changes.'],
];

/** What a node made of a change a commit script published to it: [outcome label, counter key]. */
const CHANGE_OUTCOMES = [
  ['applied', 'changes.applied'],
  ['stale', 'changes.stale'],
  ['read', 'changes.read'],
] as const;

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
 * node runs with its Redis connections up). All names start with `prefix`.
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

  function counter<L extends string>(name: string, help: string, labelNames: readonly L[], fill: (c: Counter<NodeLabels | L>, node: MeteredNode, s: Snap) => void): void {
    const metric = new Counter<NodeLabels | L>({
      name: prefix + name,
      help,
      labelNames: ['node_id', 'namespace', ...labelNames],
      registers: [registry],
      collect() {
        this.reset();
        for (const [node, s] of scrape()) fill(this, node, s);
      },
    });
    metrics.set(prefix + name, metric);
  }

  function gauge(name: string, help: string, read: (node: MeteredNode, s: Snap) => number): void {
    const metric = new Gauge<NodeLabels>({
      name: prefix + name,
      help,
      labelNames: ['node_id', 'namespace'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [node, s] of scrape()) this.set(labelsOf(node), read(node, s));
      },
    });
    metrics.set(prefix + name, metric);
  }

  const traffic = (direction: 'sent' | 'received', field: 'messages' | 'bytes') =>
    (c: Counter<NodeLabels | 'type'>, node: MeteredNode, s: Snap) => {
      for (const [type, row] of Object.entries(s[direction])) c.inc({ ...labelsOf(node), type }, row[field]);
    };

  try {
    counter('messages_sent_total', 'Messages this node published (heads, requests, replies: the commit scripts publish the changes), by message type.', ['type'], traffic('sent', 'messages'));
    counter('sent_bytes_total', 'Size of the messages this node published, by message type.', ['type'], traffic('sent', 'bytes'));
    counter('messages_received_total', 'Valid messages received by this node (changes included), by message type.', ['type'], traffic('received', 'messages'));
    counter('received_bytes_total', 'Size of the valid messages received by this node, by message type.', ['type'], traffic('received', 'bytes'));
    counter('messages_dropped_total', 'Messages dropped on receipt, by reason (bad_signature, replay, too_big, ...).', ['reason'], (c, node, s) => {
      for (const reason of DROP_REASONS) c.inc({ ...labelsOf(node), reason }, s.dropped[reason] ?? 0);
    });
    for (const [name, key, help] of EVENT_COUNTERS) {
      counter(name, help, [], (c, node, s) => c.inc(labelsOf(node), s.counters[key] ?? 0));
    }
    counter('changes_total', 'Changes published to this node by other writers\' commits, by outcome: applied (the next in its chain), stale (one it held already), read (a gap, another cluster, or a change of members or settings: it read the state instead).', ['outcome'], (c, node, s) => {
      for (const [outcome, key] of CHANGE_OUTCOMES) c.inc({ ...labelsOf(node), outcome }, s.counters[key] ?? 0);
    });
    counter('rpc_requests_total', 'Requests this node sent, by type and outcome (answered, timeout, no_listener).', ['type', 'outcome'], (c, node, s) => {
      for (const [type, row] of Object.entries(s.rpc)) {
        c.inc({ ...labelsOf(node), type, outcome: 'answered' }, row.answered);
        c.inc({ ...labelsOf(node), type, outcome: 'timeout' }, row.timeouts);
        c.inc({ ...labelsOf(node), type, outcome: 'no_listener' }, row.noListener);
      }
    });
    counter('rpc_seconds_total', 'Total round-trip time of the answered requests, by type (divide by rpc_requests_total{outcome="answered"}).', ['type'], (c, node, s) => {
      for (const [type, row] of Object.entries(s.rpc)) c.inc({ ...labelsOf(node), type }, row.totalMs / 1000);
    });
    gauge('version', 'The cluster version this node holds.', (_, s) => s.version);
    gauge('members', 'Members of the cluster in this node\'s view.', (_, s) => s.members);
    gauge('version_lag', 'How many versions this node is behind the highest it has seen from its cluster.', (_, s) => s.versionLag);
    gauge('is_leader', '1 when this node is the leader (the member that does the housekeeping) in its own view, else 0.', (node) => (node.leader === node.id ? 1 : 0));
    gauge('ready', '1 while this node runs and its Redis connections are up, else 0.', (node) => (node.ready ? 1 : 0));
  } catch (err) {
    removeGroup(registry, { nodes, metrics });
    throw err;
  }
  return { nodes, metrics };
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
