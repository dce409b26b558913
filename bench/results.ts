/** The shape of bench/results/*.json, and the context every section writes into. */
import type { Plan, Marks, Mode } from './config.js';
import type { Breakdown, PerUpdate } from './fleet.js';
import type { Machine } from './machine.js';
import { summarize } from './stats.js';
import type { Summary } from './stats.js';
import type { TargetRow } from './targets.js';

export type Impl = 'simple-gossip' | 'naive';
export type Placement = 'process-per-node' | 'in-process';
/** Which node wrote: the leader (housekeeping only in v2), a non-leader, or any (naive). */
export type From = 'leader' | 'non-leader' | 'any';

export interface ConvergenceRow {
  readonly impl: Impl;
  readonly placement: Placement;
  readonly n: number;
  readonly from: From;
  readonly runs: number;
  readonly timeouts: number;
  readonly errors: number;
  readonly latencyMs: Summary;
  /** Messages and bytes per update, summed over every node (simple-gossip only). */
  readonly perUpdate?: PerUpdate;
  /** One node per process: where the samples' time went (medians, ms from the writer's stamp). */
  readonly breakdown?: Breakdown;
  /** Redis's own time per EVALSHA during the samples (INFO commandstats; the commit script, and any tick meanwhile), µs. */
  readonly redisScriptUs?: number;
  /** From the leader, one node per process: each other node's CPU time per sample (user + system, the idle time between samples included), µs. */
  readonly receiverCpuUs?: number;
  readonly load1: number;
  /** In-process: how long starting every node took (ms), and forming the cluster after. */
  readonly startMs?: number;
  readonly formMs?: number;
  /** Why the row has no (or few) samples, when a budget ran out. */
  readonly note?: string;
}

/** A lone write right after a burst (fleet.ts measureLoneAfterBurst). */
export interface LoneAfterBurstRow {
  readonly n: number;
  readonly from: From;
  readonly reps: number;
  readonly burst: number;
  readonly inFlight: number;
  readonly timeouts: number;
  readonly errors: number;
  readonly latencyMs: Summary;
  /** The bursts' writes per second as the writer saw them (median). */
  readonly burstPerSecond: number;
  readonly load1: number;
}

/** Bytes into and out of Redis (INFO stats) for one setCfg (redis-traffic.ts). */
export interface RedisTrafficRow {
  readonly members: number;
  /** Size of the config before the write (its values' JSON), and of the value written. */
  readonly configBytes: number;
  readonly valueBytes: number;
  readonly runs: number;
  /** total_net_input_bytes / total_net_output_bytes deltas around one write (INFO's own cost included), median. */
  readonly writeInBytes: number;
  readonly writeOutBytes: number;
  /** The same deltas around an idle window as long (INFO's own cost), median. */
  readonly idleInBytes: number;
  readonly idleOutBytes: number;
  /** write − idle: what the setCfg cost. */
  readonly inBytes: number;
  readonly outBytes: number;
  /** connected_clients during the measurement (the members' connections and the one reading INFO). */
  readonly connectedClients: number;
  /** How long from setCfg() to every member holding it (ms, median). */
  readonly convergedMs: number;
}

/** A throughput row from a write loop's result. */
export function throughputRow(impl: Impl, n: number, from: ThroughputRow['from'], inFlight: number, r: { done: number; errors: number; ms: number; lat: number[] }, load: number): ThroughputRow {
  return { impl, n, from, inFlight, writes: r.done, errors: r.errors, seconds: r.ms / 1000, perSecond: r.done / (r.ms / 1000), latencyMs: summarize(r.lat), load1: load };
}

export interface ThroughputRow {
  readonly impl: Impl;
  readonly n: number;
  readonly from: From;
  readonly inFlight: number;
  readonly writes: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: Summary;
  /** simple-gossip: CPU time per write, µs, of the writer's process and of one other node's (mean), from the children's process.cpuUsage(). */
  readonly writerCpuUs?: number;
  readonly receiverCpuUs?: number;
  /** Redis's own time per EVALSHA meanwhile (INFO commandstats), µs. */
  readonly redisScriptUs?: number;
  readonly load1: number;
}

export interface SetSyncRow {
  readonly n: number;
  readonly from: From;
  readonly errors: number;
  readonly latencyMs: Summary;
}

export interface ReadRow {
  readonly name: string;
  readonly nsPerOp: number;
  /** ns/op divided by Map.get's (hit) in the same run. */
  readonly ratioToMapGet: number;
}

export interface ColdStartRow {
  readonly scenario: string;
  /** Members of the cluster it rejoins (live ones, when there is a peer). */
  readonly n: number;
  readonly latencyMs: Summary;
  readonly note: string;
}

export interface NaiveRatioRow {
  readonly n: number;
  /** naive ÷ simple-gossip: above 1, simple-gossip converges faster. */
  readonly convergenceP50: number;
  readonly convergenceP95: number;
  /** simple-gossip ÷ naive writes per second (from a non-leader): above 1, simple-gossip writes faster. */
  readonly writesPerSecSequential: number;
  readonly writesPerSec64: number;
}

/**
 * The script floor's convergence at one N (floor.ts): the writer's answer and every subscriber's message, from the send.
 * 'decode': the design floor (commit-2.lua bare, ioredis subscribers that decode each frame into a frozen object).
 */
export interface FloorConvergenceRow {
  readonly subscribers: 'ioredis' | 'raw-socket' | 'decode';
  readonly n: number;
  readonly runs: number;
  readonly timeouts: number;
  readonly latencyMs: Summary;
  /** Redis's own time per EVALSHA of the floor script during the samples (INFO commandstats), µs. */
  readonly redisScriptUs?: number;
  /** Each subscriber process's CPU time per sample (user + system, the idle time between samples included), µs. */
  readonly receiverCpuUs?: number;
  readonly load1: number;
}

/** The floor script called back to back by one writer, `inFlight` at a time, with N-1 subscribers listening. */
export interface FloorRateRow {
  readonly n: number;
  readonly inFlight: number;
  readonly commits: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: Summary;
  /** CPU time (user + system) per commit, µs: the writer (this process), one subscriber process (mean of the N-1). */
  readonly writerCpuUsPerCommit?: number;
  readonly subscriberCpuUsPerCommit?: number;
  /** Redis's own time per EVALSHA meanwhile (INFO commandstats), µs. */
  readonly redisScriptUs?: number;
  readonly load1: number;
}

/** A lone floor commit right after a burst of commits, from its send until every subscriber has it. */
export interface FloorLoneRow {
  readonly n: number;
  readonly reps: number;
  readonly burst: number;
  readonly inFlight: number;
  readonly timeouts: number;
  readonly latencyMs: Summary;
  readonly load1: number;
}

/** The design floor's setSync: a commit asking for acks, from its send until the writer has every subscriber's ack. */
export interface FloorSyncRow {
  readonly n: number;
  readonly runs: number;
  readonly timeouts: number;
  readonly latencyMs: Summary;
  readonly load1: number;
}

/** This machine's floor in this run (bench/floor.ts). */
export interface Floor {
  /** An idle pub/sub hop between two processes. */
  pubsubHopMs: Summary;
  pingRoundTripMs: Summary;
  /** The script floor (HSET + HINCRBY + PUBLISH to N-1 subscriber processes in one EVALSHA). */
  convergence: FloorConvergenceRow[];
  commitRate: FloorRateRow[];
  loneAfterBurst: FloorLoneRow[];
  /**
   * The design floor: the library's commit-2.lua called bare with the library's arguments (frames as large as its set()'s),
   * to N-1 ioredis subscriber processes that decode each frame into a deep-frozen object; sequential (1 in flight) commits/s.
   * (Absent from files written before it was measured.)
   */
  designConvergence?: FloorConvergenceRow[];
  designCommitRate?: FloorRateRow[];
  /** The design floor's setSync (absent from files written before it was measured). */
  designSync?: FloorSyncRow[];
}

export interface Results {
  meta: {
    date: string;
    mode: Mode;
    machine: Machine;
    redisUrl: string;
    /** What this mode ran (see config.ts). */
    plan: {
      childNs: readonly number[];
      inProcessNs: readonly number[];
      naiveNs: readonly number[];
      floorNs?: readonly number[];
      floorRawNs?: readonly number[];
      convergenceRuns: Record<number, number>;
      warmUp: number;
      throughputMs: number;
      burst: { reps: number; writes: number; inFlight: number };
      setSyncRuns: number;
      coldStartRuns: number;
    };
    durationS: number;
    load1AtEnd: number;
    notes: string[];
  };
  /** This machine's floor in this run (bench/floor.ts). */
  floor?: Floor;
  convergence: ConvergenceRow[];
  throughput: ThroughputRow[];
  loneAfterBurst: LoneAfterBurstRow[];
  setSync: SetSyncRow[];
  redisTraffic?: RedisTrafficRow;
  reads?: { rounds: number; roundMs: number; rows: ReadRow[] };
  coldStart: ColdStartRow[];
  naiveRatios: NaiveRatioRow[];
  /** Issue 10's targets, checked (see targets.ts). */
  targets?: TargetRow[];
  errors: Array<{ section: string; message: string }>;
}

export interface Ctx {
  readonly redisUrl: string;
  readonly plan: Plan;
  readonly marks: Marks;
  readonly results: Results;
  log(message: string): void;
}

/** Runs one part of the benchmark; a failure is recorded and reported, and the run goes on. */
export async function guard(ctx: Ctx, section: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const message = (err as Error).stack ?? String(err);
    ctx.results.errors.push({ section, message: message.split('\n').slice(0, 6).join('\n') });
    ctx.log(`!! ${section} failed: ${message.split('\n')[0]}`);
  }
}
