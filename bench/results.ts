/** The shape of bench/results/*.json, and the context every section writes into. */
import type { Plan, Marks, Mode } from './config.js';
import type { PerUpdate } from './fleet.js';
import type { Machine } from './machine.js';
import { summarize } from './stats.js';
import type { Summary } from './stats.js';
import type { TargetRow } from './targets.js';

/** 'simple-gossip, no fencing': the same, with the leader's lease off (the original has none). */
export type Impl = 'simple-gossip' | 'simple-gossip, no fencing' | 'naive';
export type Placement = 'process-per-node' | 'in-process';

export interface ConvergenceRow {
  readonly impl: Impl;
  readonly placement: Placement;
  readonly n: number;
  readonly runs: number;
  readonly timeouts: number;
  readonly errors: number;
  readonly latencyMs: Summary;
  /** Messages and bytes sent per update, summed over every node (simple-gossip only). */
  readonly perUpdate?: PerUpdate;
  readonly load1: number;
}

/** A throughput row from a write loop's result. */
export function throughputRow(impl: Impl, n: number, from: ThroughputRow['from'], inFlight: number, r: { done: number; errors: number; ms: number; lat: number[] }, load: number): ThroughputRow {
  return { impl, n, from, inFlight, writes: r.done, errors: r.errors, seconds: r.ms / 1000, perSecond: r.done / (r.ms / 1000), latencyMs: summarize(r.lat), load1: load };
}

export interface ThroughputRow {
  readonly impl: Impl;
  readonly n: number;
  readonly from: 'leader' | 'non-leader' | 'any';
  readonly inFlight: number;
  readonly writes: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly latencyMs: Summary;
  readonly load1: number;
}

export interface SetSyncRow {
  readonly n: number;
  readonly from: 'non-leader';
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
  /** simple-gossip ÷ naive writes per second (sequential, from a non-leader): above 1, simple-gossip writes faster. */
  readonly writesPerSecSequential: number;
  readonly writesPerSec64: number;
}

/** The script floor's convergence at one N (floor.ts): the writer's answer and every subscriber's message, from the send. */
export interface FloorConvergenceRow {
  readonly subscribers: 'ioredis' | 'raw-socket';
  readonly n: number;
  readonly runs: number;
  readonly timeouts: number;
  readonly latencyMs: Summary;
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
      throughputMs: number;
      setSyncRuns: number;
      coldStartRuns: number;
    };
    durationS: number;
    load1AtEnd: number;
    notes: string[];
  };
  harness: { childCallRoundTripMs?: Summary };
  /** This machine's floor in this run (bench/floor.ts). */
  floor?: Floor;
  convergence: ConvergenceRow[];
  throughput: ThroughputRow[];
  setSync: SetSyncRow[];
  reads?: { rounds: number; roundMs: number; rows: ReadRow[] };
  coldStart: ColdStartRow[];
  naiveRatios: NaiveRatioRow[];
  /** Issue 4's targets, checked (see targets.ts). */
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
