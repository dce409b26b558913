/** The two modes of `npm run bench`: what each measures and for how long. */
export type Mode = 'quick' | 'full';

export interface Plan {
  readonly mode: Mode;
  /** Cluster sizes with one node per child process (the fair comparison with the original). */
  readonly childNs: readonly number[];
  /** Cluster sizes with every node in the benchmark's own process. */
  readonly inProcessNs: readonly number[];
  /** Cluster sizes for the naive SET + PUBLISH alternative (child processes). */
  readonly naiveNs: readonly number[];
  /** Cluster sizes for the script floor (floor.ts), with ioredis subscribers and with raw-socket ones. */
  readonly floorNs: readonly number[];
  readonly floorRawNs: readonly number[];
  /** Convergence samples at cluster size n (the floor's too), after {@link WARM_UP} unreported ones. */
  readonly convergenceRuns: (n: number) => number;
  /** How long each throughput run lasts; a figure is the best of {@link THROUGHPUT_SEGMENTS} of them. */
  readonly throughputMs: number;
  /** "A lone write right after a burst": how many bursts (each followed by one timed write). */
  readonly burstReps: number;
  readonly setSyncRuns: number;
  readonly coldStartRuns: number;
  /** Bytes into and out of Redis for one setCfg: how many writes (and as many idle windows) to take the median of. */
  readonly trafficRuns: number;
  /** Read micro-benchmark: rounds per case and the target length of one round. */
  readonly readRounds: number;
  readonly readRoundMs: number;
  /** The whole run gives up (and cleans up) after this long. */
  readonly deadlineMs: number;
}

export const PLANS: Readonly<Record<Mode, Plan>> = {
  quick: {
    mode: 'quick',
    childNs: [3, 10, 25],
    inProcessNs: [25, 100, 1000],
    naiveNs: [3, 10],
    floorNs: [3, 10, 25],
    floorRawNs: [3, 10],
    convergenceRuns: (n) => (n <= 3 ? 500 : n <= 10 ? 300 : n <= 25 ? 300 : n <= 100 ? 150 : 40),
    throughputMs: 500,
    burstReps: 20,
    setSyncRuns: 100,
    coldStartRuns: 30,
    trafficRuns: 7,
    readRounds: 5,
    readRoundMs: 100,
    deadlineMs: 10 * 60_000,
  },
  full: {
    mode: 'full',
    childNs: [3, 10, 25],
    inProcessNs: [25, 100, 1000],
    naiveNs: [3, 10, 25],
    floorNs: [3, 10, 25],
    floorRawNs: [3, 10, 25],
    convergenceRuns: (n) => (n <= 3 ? 1000 : n <= 10 ? 500 : n <= 25 ? 300 : n <= 100 ? 200 : 50),
    throughputMs: 670,
    burstReps: 40,
    setSyncRuns: 200,
    coldStartRuns: 50,
    trafficRuns: 15,
    readRounds: 9,
    readRoundMs: 300,
    deadlineMs: 60 * 60_000,
  },
};

/** Samples first taken and thrown away at each N, by the floor and the library alike (fresh processes, cold JIT). */
export const WARM_UP = 50;
/**
 * Writes each node process makes (all of them at once) before anything is
 * measured at an N, then a settle: the library's receive and write paths are
 * long enough that V8 leaves them in its baseline tiers for hundreds of
 * calls (the floor's few-line subscribers are optimised within WARM_UP
 * samples), and a service's nodes run warm (bench/README.md gives what it
 * changes at N = 25).
 */
export const WARM_UP_WRITES_PER_NODE = 300;
/** How long one convergence sample may take before it counts as a timeout. */
export const CONVERGENCE_TIMEOUT_MS = 5_000;
/** The idle time between two convergence samples, so each write wakes idle processes. */
export const IDLE_MS = 2;
/** A burst before a lone write: this many writes, this many in flight (the floor's and the library's alike). */
export const BURST_WRITES = 256;
export const BURST_IN_FLIGHT = 64;
/** The in-process N = 1,000 cluster gives up after this long (start, joins and samples together). */
export const BIG_CLUSTER_BUDGET_MS = 4 * 60_000;

/** The value every benchmark write carries (a small config object, ~200 bytes), plus a `seq` mark. */
export const PAYLOAD = Object.freeze({
  service: 'checkout',
  region: 'eu-west-1',
  flags: { darkMode: true, newCart: false, betaSearch: true, fastPath: false, auditLog: true },
  limits: { rps: 1000, burst: 200, timeoutMs: 2500 },
  owners: ['team-a', 'team-b'],
});

/** The namespace of the design floor's change frames (floor.ts), which its subscribers check. */
export const DESIGN_NAMESPACE = 'bench-design00';
/** The channel the design floor's subscribers send their acks to (its writer, the bench process, listens on it). */
export const DESIGN_ACKS = '{floor}:design:writer';

/** A monotonic mark shared by every write of a run, so each write's data differs from the last. */
export class Marks {
  #last = 0;
  next(): number {
    return ++this.#last;
  }
  /** Reserves `count` marks; returns the first. */
  reserve(count: number): number {
    const first = this.#last + 1;
    this.#last += count;
    return first;
  }
}

/**
 * Each throughput figure (the library's, the floor's, the design floor's, the
 * naive's alike) is the best of this many back-to-back runs of the plan's
 * throughputMs: a write loop on 2 shared cores swings between scheduling
 * modes within seconds (bare EVALSHA loops ran back to back at 33,640 and
 * then 12,366 commits/s; the floor's sequential rate at N = 3 was 8,707 and
 * 29,414 in two runs), and the best run shows what the code does when the
 * machine lets it, for every row the same way.
 */
export const THROUGHPUT_SEGMENTS = 5;
