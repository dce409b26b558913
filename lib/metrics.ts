import type { DropReason } from './errors.js';

/** How often at most one kind of dropped message is reported on 'error'. */
const DROP_REPORT_INTERVAL_MS = 1_000;

/** Messages of one type, and their bytes. */
export interface TrafficCounters {
  /** How many. */
  messages: number;
  /** Their size, in bytes on the wire. */
  bytes: number;
}

/** What {@link Gossip.metrics} returns: counters since start, and a few gauges. */
export interface MetricsSnapshot {
  /** Messages sent, by message type. */
  readonly sent: Readonly<Record<string, TrafficCounters>>;
  /** Valid messages received, by message type. */
  readonly received: Readonly<Record<string, TrafficCounters>>;
  /** Messages dropped, by reason. */
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
  /** Events: pushes, antiEntropyRounds, merges, leaderCommits, fencedCommits, writesRefused. */
  readonly counters: Readonly<Record<string, number>>;
  /** The cluster version this node holds. */
  readonly version: number;
  /** How many members this node knows. */
  readonly members: number;
  /** Snapshot writes sent to Redis. */
  readonly snapshotWrites: number;
}

/** A node's counters: plain numbers, cheap to bump on the hot path. */
export class Metrics {
  readonly #sent: Record<string, TrafficCounters> = {};
  readonly #received: Record<string, TrafficCounters> = {};
  readonly #dropped: Partial<Record<DropReason, number>> = {};
  readonly #lastDropReport: Partial<Record<DropReason, number>> = {};
  readonly #counters: Record<string, number> = {};

  sent(type: string, bytes: number): void {
    bump(this.#sent, type, bytes);
  }

  received(type: string, bytes: number): void {
    bump(this.#received, type, bytes);
  }

  count(name: string, by = 1): void {
    this.#counters[name] = (this.#counters[name] ?? 0) + by;
  }

  /** Counts a dropped message; true when it should be reported (at most once a second per reason). */
  drop(reason: DropReason, now: number): boolean {
    this.#dropped[reason] = (this.#dropped[reason] ?? 0) + 1;
    const last = this.#lastDropReport[reason];
    if (last !== undefined && now - last < DROP_REPORT_INTERVAL_MS) return false;
    this.#lastDropReport[reason] = now;
    return true;
  }

  snapshot(gauges: Pick<MetricsSnapshot, 'version' | 'members' | 'snapshotWrites'>): MetricsSnapshot {
    return structuredClone({
      sent: this.#sent,
      received: this.#received,
      dropped: this.#dropped,
      counters: this.#counters,
      ...gauges,
    });
  }
}

function bump(table: Record<string, TrafficCounters>, type: string, bytes: number): void {
  const row = (table[type] ??= { messages: 0, bytes: 0 });
  row.messages++;
  row.bytes += bytes;
}
