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
  /** Convergence samples at cluster size n (the floor's too). */
  readonly convergenceRuns: (n: number) => number;
  /** How long each throughput run lasts. */
  readonly throughputMs: number;
  readonly setSyncRuns: number;
  readonly coldStartRuns: number;
  /** Read micro-benchmark: rounds per case and the target length of one round. */
  readonly readRounds: number;
  readonly readRoundMs: number;
  /** The whole run gives up (and cleans up) after this long. */
  readonly deadlineMs: number;
}

export const PLANS: Readonly<Record<Mode, Plan>> = {
  quick: {
    mode: 'quick',
    childNs: [3, 10],
    inProcessNs: [3, 10],
    naiveNs: [3, 10],
    floorNs: [3, 10],
    floorRawNs: [3, 10],
    convergenceRuns: (n) => (n <= 3 ? 500 : 300),
    throughputMs: 1_500,
    setSyncRuns: 100,
    coldStartRuns: 30,
    readRounds: 5,
    readRoundMs: 100,
    deadlineMs: 5 * 60_000,
  },
  full: {
    mode: 'full',
    childNs: [3, 10, 25, 50, 100],
    inProcessNs: [3, 10, 25, 50, 100],
    naiveNs: [3, 10, 25, 50, 100],
    floorNs: [3, 10, 25],
    floorRawNs: [3, 10],
    convergenceRuns: (n) => (n <= 3 ? 1000 : n <= 10 ? 500 : n <= 25 ? 300 : n <= 50 ? 200 : 150),
    throughputMs: 2_000,
    setSyncRuns: 200,
    coldStartRuns: 50,
    readRounds: 9,
    readRoundMs: 300,
    deadlineMs: 60 * 60_000,
  },
};

/** How long one convergence sample may take before it counts as a timeout. */
export const CONVERGENCE_TIMEOUT_MS = 5_000;

/** The value every benchmark write carries (a small config object, ~200 bytes), plus a `seq` mark. */
export const PAYLOAD = Object.freeze({
  service: 'checkout',
  region: 'eu-west-1',
  flags: { darkMode: true, newCart: false, betaSearch: true, fastPath: false, auditLog: true },
  limits: { rps: 1000, burst: 200, timeoutMs: 2500 },
  owners: ['team-a', 'team-b'],
});

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
