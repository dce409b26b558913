import type { DropReason } from './errors.js';
import { Histogram } from './latency.js';
import type { HistogramSnapshot, LatencyKind, LatencyListener } from './latency.js';

/** How often at most one kind of dropped message is reported on 'error'. */
const DROP_REPORT_INTERVAL_MS = 1_000;

/** Messages of one type, and their bytes. */
export interface TrafficCounters {
  /** How many. */
  messages: number;
  /** Their size, in bytes on the wire. */
  bytes: number;
}

/** Requests of one type this node sent, and how they ended. */
export interface RpcCounters {
  /** Requests sent. */
  calls: number;
  /** Answered (with a value or an error). */
  answered: number;
  /** No answer within the timeout. */
  timeouts: number;
  /** Nobody listened on the target's channel (a PUBLISH that reached 0). */
  noListener: number;
  /** Sum and largest of the answered requests' round trips, in ms. */
  totalMs: number;
  maxMs: number;
}

/** What {@link Gossip.metrics} returns: counters since start, and a few gauges. */
export interface MetricsSnapshot {
  /** Messages sent, by message type. */
  readonly sent: Readonly<Record<string, TrafficCounters>>;
  /** Valid messages received, by message type. */
  readonly received: Readonly<Record<string, TrafficCounters>>;
  /** Messages dropped, by reason. */
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
  /** Requests this node sent, by message type: outcomes and round-trip times. */
  readonly rpc: Readonly<Record<string, RpcCounters>>;
  /**
   * Events: changes.applied / changes.stale / changes.read (a change that made
   * the node read the state), reads (states read from Redis),
   * antiEntropyRounds, nodeKeyWrites, headsFailed, acksFailed, repliesFailed,
   * invalidStates (states the `schema` refused: not installed).
   */
  readonly counters: Readonly<Record<string, number>>;
  /** How far this node is behind the highest version it has seen from its cluster (0: up to date). */
  readonly versionLag: number;
  /** The cluster version this node holds. */
  readonly version: number;
  /** How many members this node knows. */
  readonly members: number;
  /** Snapshot writes sent to Redis. */
  readonly snapshotWrites: number;
  /**
   * Latency histograms, in ms, since start: `write` (a write call until it
   * resolved), `convergence` (a `…Sync` call until the members held the
   * version), `catchUp` (from learning this node was behind until it held
   * the newer version). See {@link LatencyKind}.
   */
  readonly latency: Readonly<Record<LatencyKind, HistogramSnapshot>>;
}

/** What a {@link Metrics} is given. */
export interface MetricsOptions {
  /** A monotonic clock in ms. @default performance.now */
  readonly now?: () => number;
  /** A latency listener threw (it never breaks the write it timed). */
  readonly onListenerError?: (err: unknown) => void;
}

/** A node's counters: plain numbers, cheap to bump on the hot path. */
export class Metrics {
  readonly #sent: Record<string, TrafficCounters> = {};
  readonly #received: Record<string, TrafficCounters> = {};
  readonly #dropped: Partial<Record<DropReason, number>> = {};
  readonly #lastDropReport: Partial<Record<DropReason, number>> = {};
  readonly #counters: Record<string, number> = {};
  readonly #rpc: Record<string, RpcCounters> = {};
  readonly #latency: Readonly<Record<LatencyKind, Histogram>> = { write: new Histogram(), convergence: new Histogram(), catchUp: new Histogram() };
  /** Replaced, never changed in place: a listener that unsubscribes while it is called changes no loop. */
  #listeners: readonly LatencyListener[] = [];
  /** When this node first learned it lacked `#behindVersion` of `#behindCluster` (undefined: it lacks nothing it was told of). */
  #behindSince: number | undefined;
  #behindCluster = '';
  #behindVersion = 0;
  readonly #onListenerError: (err: unknown) => void;
  /** The clock latencies are measured with, in ms. */
  readonly now: () => number;

  constructor(options: MetricsOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.#onListenerError = options.onListenerError ?? (() => undefined);
  }

  sent(type: string, bytes: number): void {
    bump(this.#sent, type, bytes);
  }

  received(type: string, bytes: number): void {
    bump(this.#received, type, bytes);
  }

  count(name: string, by = 1): void {
    this.#counters[name] = (this.#counters[name] ?? 0) + by;
  }

  /** One counter's value. */
  counter(name: string): number {
    return this.#counters[name] ?? 0;
  }

  /** Counts a request sent; call the returned function with how it ended. */
  rpc(type: string): (outcome: 'answered' | 'timeouts' | 'noListener' | 'other') => void {
    const row = (this.#rpc[type] ??= { calls: 0, answered: 0, timeouts: 0, noListener: 0, totalMs: 0, maxMs: 0 });
    row.calls++;
    const started = performance.now();
    return (outcome) => {
      if (outcome === 'other') return;
      row[outcome]++;
      if (outcome !== 'answered') return;
      const ms = performance.now() - started;
      row.totalMs += ms;
      if (ms > row.maxMs) row.maxMs = ms;
    };
  }

  /** Records a latency: from `startedAt` (a reading of {@link now}) until now. */
  latency(kind: LatencyKind, startedAt: number): void {
    const ms = this.now() - startedAt;
    this.#latency[kind].observe(ms);
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(kind, ms);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  /** {@link latency}, then `result`: for a write's return. */
  timed<R>(kind: LatencyKind, startedAt: number, result: R): R {
    this.latency(kind, startedAt);
    return result;
  }

  /** Calls `fn` with every latency recorded from now on; returns its unsubscribe. */
  onLatency(fn: LatencyListener): () => void {
    this.#listeners = [...this.#listeners, fn];
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== fn);
    };
  }

  /**
   * This node learned it lacks `version` of `cluster` (a gap, a member's
   * head, or Redis's): the catch-up is timed from the first such moment until it holds it.
   */
  behind(cluster: string, version: number): void {
    if (this.#behindSince !== undefined) return;
    this.#behindSince = this.now();
    this.#behindCluster = cluster;
    this.#behindVersion = version;
  }

  /** This node now holds `version` of `cluster`: ends a catch-up that waited for it (one of another cluster is dropped). */
  holds(cluster: string, version: number): void {
    if (this.#behindSince === undefined) return;
    if (cluster !== this.#behindCluster) {
      this.#behindSince = undefined;
    } else if (version >= this.#behindVersion) {
      const since = this.#behindSince;
      this.#behindSince = undefined;
      this.latency('catchUp', since);
    }
  }

  /** Counts a dropped message; true when it should be reported (at most once a second per reason). */
  drop(reason: DropReason, now: number): boolean {
    this.#dropped[reason] = (this.#dropped[reason] ?? 0) + 1;
    const last = this.#lastDropReport[reason];
    if (last !== undefined && now - last < DROP_REPORT_INTERVAL_MS) return false;
    this.#lastDropReport[reason] = now;
    return true;
  }

  snapshot(gauges: Pick<MetricsSnapshot, 'version' | 'members' | 'snapshotWrites' | 'versionLag'>): MetricsSnapshot {
    const l = this.#latency;
    return structuredClone({
      sent: this.#sent,
      received: this.#received,
      dropped: this.#dropped,
      rpc: this.#rpc,
      counters: this.#counters,
      ...gauges,
      latency: { write: l.write.snapshot(), convergence: l.convergence.snapshot(), catchUp: l.catchUp.snapshot() },
    });
  }
}

function bump(table: Record<string, TrafficCounters>, type: string, bytes: number): void {
  const row = (table[type] ??= { messages: 0, bytes: 0 });
  row.messages++;
  row.bytes += bytes;
}
