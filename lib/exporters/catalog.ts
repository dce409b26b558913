/**
 * The metrics every exporter reports, written once: each one's names (for
 * Prometheus and for OpenTelemetry), kind, unit, help, labels, and how its
 * series are read from a node's {@link MetricsSnapshot}. The exporters only
 * carry this table into their library.
 */
import type { DropReason, LatencyKind, MetricsSnapshot } from '../index.js';

/** What an exporter reads from a node: any `Gossip` fits, whatever its data type. */
export interface MeteredNode {
  /** The `node_id` label. */
  readonly id: string;
  /** The `namespace` label. */
  readonly namespace: string;
  /** Compared with `id` for `is_leader`. */
  readonly leader: string;
  /** The `ready` gauge. */
  readonly ready: boolean;
  /** Read once per node per scrape or collection. */
  metrics(): MetricsSnapshot;
}

/** Every reason a message is dropped: each is reported from 0 on, so a rate never starts from nothing. */
export const DROP_REASONS = [
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
void allDropReasons;

/** Receives one series of a node: its labels besides `node_id` and `namespace`, and its value. */
export type Emit = (labels: Readonly<Record<string, string>>, value: number) => void;

/** One counter or gauge. */
export interface MetricDef {
  /** The Prometheus name, after the prefix (`_total` included for counters). */
  readonly prom: string;
  /** The OpenTelemetry instrument name, after the prefix. */
  readonly otel: string;
  readonly kind: 'counter' | 'gauge';
  /** The OpenTelemetry unit (UCUM: `s`, `By`, `{message}`, …). */
  readonly unit: string;
  readonly help: string;
  /** The labels each series carries besides `node_id` and `namespace`. */
  readonly labels: readonly string[];
  /** Every series of `node`, from its snapshot `s`. */
  read(node: MeteredNode, s: MetricsSnapshot, emit: Emit): void;
}

/** One latency histogram (the values are the snapshot's `latency[kind]`; exporters report seconds). */
export interface HistogramDef {
  readonly prom: string;
  readonly otel: string;
  readonly kind: LatencyKind;
  readonly help: string;
}

const NONE: Readonly<Record<string, string>> = Object.freeze({});

const traffic = (direction: 'sent' | 'received', field: 'messages' | 'bytes') => (_: MeteredNode, s: MetricsSnapshot, emit: Emit) => {
  for (const [type, row] of Object.entries(s[direction])) emit({ type }, row[field]);
};

const counter = (key: string) => (_: MeteredNode, s: MetricsSnapshot, emit: Emit) => emit(NONE, s.counters[key] ?? 0);

/** What a node made of a change a commit script published to it: [outcome label, counter key]. */
const CHANGE_OUTCOMES = [
  ['applied', 'changes.applied'],
  ['stale', 'changes.stale'],
  ['read', 'changes.read'],
] as const;

export const METRICS: readonly MetricDef[] = [
  {
    prom: 'messages_sent_total',
    otel: 'sent.messages',
    kind: 'counter',
    unit: '{message}',
    labels: ['type'],
    help: 'Messages this node published (heads, requests, replies: the commit scripts publish the changes), by message type.',
    read: traffic('sent', 'messages'),
  },
  {
    prom: 'sent_bytes_total',
    otel: 'sent.bytes',
    kind: 'counter',
    unit: 'By',
    labels: ['type'],
    help: 'Size of the messages this node published, by message type.',
    read: traffic('sent', 'bytes'),
  },
  {
    prom: 'messages_received_total',
    otel: 'received.messages',
    kind: 'counter',
    unit: '{message}',
    labels: ['type'],
    help: 'Valid messages received by this node (changes included), by message type.',
    read: traffic('received', 'messages'),
  },
  {
    prom: 'received_bytes_total',
    otel: 'received.bytes',
    kind: 'counter',
    unit: 'By',
    labels: ['type'],
    help: 'Size of the valid messages received by this node, by message type.',
    read: traffic('received', 'bytes'),
  },
  {
    prom: 'messages_dropped_total',
    otel: 'dropped.messages',
    kind: 'counter',
    unit: '{message}',
    labels: ['reason'],
    help: 'Messages dropped on receipt, by reason (bad_signature, replay, too_big, ...).',
    read: (_, s, emit) => {
      for (const reason of DROP_REASONS) emit({ reason }, s.dropped[reason] ?? 0);
    },
  },
  {
    prom: 'anti_entropy_rounds_total',
    otel: 'anti_entropy_rounds',
    kind: 'counter',
    unit: '{round}',
    labels: [],
    help: "Anti-entropy rounds: ticks that sent this node's head to random members and compared it with Redis.",
    read: counter('antiEntropyRounds'),
  },
  {
    prom: 'state_reads_total',
    otel: 'state_reads',
    kind: 'counter',
    unit: '{read}',
    labels: [],
    help: "Reads of the cluster's whole state from Redis (to catch up, or after a change of members or settings).",
    read: counter('reads'),
  },
  {
    prom: 'node_key_writes_total',
    otel: 'node_key_writes',
    kind: 'counter',
    unit: '{write}',
    labels: [],
    help: "Writes of this node's key in Redis (its cluster, version and members), on membership changes.",
    read: counter('nodeKeyWrites'),
  },
  {
    prom: 'invalid_states_total',
    otel: 'invalid_states',
    kind: 'counter',
    unit: '{state}',
    labels: [],
    help: 'States from other nodes or from Redis whose data did not match the schema, so this node did not install them.',
    read: counter('invalidStates'),
  },
  {
    prom: 'changes_total',
    otel: 'changes',
    kind: 'counter',
    unit: '{change}',
    labels: ['outcome'],
    help: "Changes published to this node by other writers' commits, by outcome: applied (the next in its chain), stale (one it held already), read (a gap, another cluster, or a change of members or settings: it read the state instead).",
    read: (_, s, emit) => {
      for (const [outcome, key] of CHANGE_OUTCOMES) emit({ outcome }, s.counters[key] ?? 0);
    },
  },
  {
    prom: 'rpc_requests_total',
    otel: 'rpc.requests',
    kind: 'counter',
    unit: '{request}',
    labels: ['type', 'outcome'],
    help: 'Requests this node sent, by type and outcome (answered, timeout, no_listener).',
    read: (_, s, emit) => {
      for (const [type, row] of Object.entries(s.rpc)) {
        emit({ type, outcome: 'answered' }, row.answered);
        emit({ type, outcome: 'timeout' }, row.timeouts);
        emit({ type, outcome: 'no_listener' }, row.noListener);
      }
    },
  },
  {
    prom: 'rpc_seconds_total',
    otel: 'rpc.time',
    kind: 'counter',
    unit: 's',
    labels: ['type'],
    help: 'Total round-trip time of the answered requests, by type (divide by rpc_requests_total{outcome="answered"}).',
    read: (_, s, emit) => {
      for (const [type, row] of Object.entries(s.rpc)) emit({ type }, row.totalMs / 1000);
    },
  },
  {
    prom: 'version',
    otel: 'version',
    kind: 'gauge',
    unit: '{version}',
    labels: [],
    help: 'The cluster version this node holds.',
    read: (_, s, emit) => emit(NONE, s.version),
  },
  {
    prom: 'members',
    otel: 'members',
    kind: 'gauge',
    unit: '{member}',
    labels: [],
    help: "Members of the cluster in this node's view.",
    read: (_, s, emit) => emit(NONE, s.members),
  },
  {
    prom: 'version_lag',
    otel: 'version_lag',
    kind: 'gauge',
    unit: '{version}',
    labels: [],
    help: 'How many versions this node is behind the highest it has seen from its cluster.',
    read: (_, s, emit) => emit(NONE, s.versionLag),
  },
  {
    prom: 'is_leader',
    otel: 'is_leader',
    kind: 'gauge',
    unit: '1',
    labels: [],
    help: '1 when this node is the leader (the member that does the housekeeping) in its own view, else 0.',
    read: (node, _, emit) => emit(NONE, node.leader === node.id ? 1 : 0),
  },
  {
    prom: 'ready',
    otel: 'ready',
    kind: 'gauge',
    unit: '1',
    labels: [],
    help: '1 while this node runs and its Redis connections are up, else 0.',
    read: (node, _, emit) => emit(NONE, node.ready ? 1 : 0),
  },
];

export const HISTOGRAMS: readonly HistogramDef[] = [
  {
    prom: 'write_duration_seconds',
    otel: 'write.duration',
    kind: 'write',
    help: 'Writes (set, setCfg, deleteCfg, patchCfg, and the write of a …Sync call) from the call until it resolved, this node holding the new version.',
  },
  {
    prom: 'convergence_duration_seconds',
    otel: 'convergence.duration',
    kind: 'convergence',
    help: 'setSync, setCfgSync and deleteCfgSync calls from the call until the members waited for (every member by default) held the version.',
  },
  {
    prom: 'catch_up_duration_seconds',
    otel: 'catch_up.duration',
    kind: 'catchUp',
    help: "From this node learning it was behind (a change after a gap, a member's head or Redis's with a higher version) until it held that version.",
  },
];
