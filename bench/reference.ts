/**
 * The figures printed beside ours. The Erlang original and this library's v1
 * were measured on this machine, one OS process per node, default settings;
 * issue 4's figures for the original (2 cores, one BEAM per node, distributed
 * Erlang on loopback) fill in what was not measured here, and are marked so
 * wherever they show (see {@link erlangAt}). Ranges are [low, high].
 */
export type Range = readonly [number, number];

/** One cluster size; a figure that was not measured is left out. */
export interface ReferenceRow {
  readonly n: number;
  /** Convergence p50, set() on a non-leader until every node has it. */
  readonly convergenceP50Ms?: Range;
  readonly convergenceP95Ms?: Range;
  /** Convergence p50, set() on the leader. */
  readonly leaderConvergenceP50Ms?: Range;
  readonly pushesPerUpdate?: number;
  readonly setSyncP50Ms?: Range;
  /** Sequential sets per second. */
  readonly setsPerSecLeader?: Range;
  readonly setsPerSecNonLeader?: Range;
  /** Gossip.start() (a restart next to live peers) until get() is right. */
  readonly coldStartMs?: Range;
}

export interface Reference {
  readonly name: string;
  readonly rows: readonly ReferenceRow[];
  /** set() on the leader, p50 per call. */
  readonly leaderSetP50Ms?: Range;
  readonly getNs?: Range;
  readonly cfgHitNs?: Range;
  readonly cfgMissNs?: Range;
  readonly floor?: string;
}

const one = (x: number): Range => [x, x];

export const ERLANG: Reference = {
  name: 'the Erlang original, this machine',
  rows: [
    { n: 3, convergenceP50Ms: one(0.66), leaderConvergenceP50Ms: one(0.42), setsPerSecNonLeader: one(3_446), coldStartMs: one(3.0) },
    { n: 10, convergenceP50Ms: one(2.27), leaderConvergenceP50Ms: one(1.47), setsPerSecNonLeader: one(1_871), coldStartMs: one(2.7) },
    { n: 25, convergenceP50Ms: one(4.92), leaderConvergenceP50Ms: one(3.4) },
  ],
  leaderSetP50Ms: one(0.16),
};

export const V1: Reference = {
  name: 'simple-gossip v1, this machine',
  rows: [
    { n: 3, convergenceP50Ms: one(2.73), leaderConvergenceP50Ms: one(1.83), setsPerSecNonLeader: one(1_644), coldStartMs: one(27.5) },
    { n: 10, convergenceP50Ms: one(4.92), leaderConvergenceP50Ms: one(3.85), setsPerSecNonLeader: one(1_242), coldStartMs: one(38.1) },
    { n: 25, convergenceP50Ms: one(13.2), leaderConvergenceP50Ms: one(10.4) },
  ],
  leaderSetP50Ms: [1.34, 1.84],
};

export const ISSUE4: Reference = {
  name: "the Erlang original, issue 4's machine",
  rows: [
    {
      n: 3,
      convergenceP50Ms: [0.9, 0.9],
      convergenceP95Ms: [1.5, 1.5],
      pushesPerUpdate: 4,
      setSyncP50Ms: [1.1, 1.1],
      setsPerSecLeader: [38_000, 38_000],
      setsPerSecNonLeader: [5_500, 5_500],
      coldStartMs: [0.6, 1.6],
    },
    {
      n: 10,
      convergenceP50Ms: [2.3, 2.3],
      convergenceP95Ms: [7.7, 7.7],
      pushesPerUpdate: 18,
      setSyncP50Ms: [205, 205],
      setsPerSecLeader: [9_300, 12_400],
      setsPerSecNonLeader: [1_200, 1_700],
      coldStartMs: [1.5, 7],
    },
    {
      n: 25,
      convergenceP50Ms: [5.1, 6.3],
      convergenceP95Ms: [23, 25],
      pushesPerUpdate: 48,
      setSyncP50Ms: [210, 210],
      setsPerSecLeader: [7_400, 7_400],
      setsPerSecNonLeader: [500, 500],
      coldStartMs: [3, 16],
    },
  ],
  getNs: [1_600, 2_600],
  cfgHitNs: [27, 47],
  cfgMissNs: [1_600, 13_000],
  floor: 'one Redis pub/sub hop between two processes on loopback ~0.05-0.1 ms (request/reply ~0.11 ms p50); Map.get ~10 ns',
};

/** Every cluster size some reference has a row for. */
export const REFERENCE_NS: readonly number[] = [...new Set([ERLANG, V1, ISSUE4].flatMap((r) => r.rows.map((x) => x.n)))].sort((a, b) => a - b);

type Figure = Exclude<keyof ReferenceRow, 'n'>;

export function figureOf<K extends Figure>(ref: Reference, n: number, key: K): ReferenceRow[K] {
  return ref.rows.find((r) => r.n === n)?.[key];
}

/** The original's figure at n: this machine's when measured, else issue 4's (`here` false). */
export function erlangAt<K extends Figure>(n: number, key: K): { value: NonNullable<ReferenceRow[K]>; here: boolean } | undefined {
  const here = figureOf(ERLANG, n, key);
  if (here !== undefined) return { value: here, here: true };
  const there = figureOf(ISSUE4, n, key);
  return there === undefined ? undefined : { value: there, here: false };
}

/** The mark on a figure from issue 4's machine, and its legend. */
export const ISSUE4_MARK = '*';
export const ISSUE4_NOTE = `${ISSUE4_MARK}: issue 4's figure for the original (another machine); unmarked Erlang and v1 figures were measured on this machine, one OS process per node.`;

/** A range as text: 2 digits below 10, 1 below 100, else whole numbers with separators (or `digits` throughout). */
export function fmtRange(r: Range | undefined, digits?: number): string {
  if (!r) return '';
  const f = (x: number) => (x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits ?? (x < 10 ? 2 : x < 100 ? 1 : 0)));
  return r[0] === r[1] ? f(r[0]) : `${f(r[0])}-${f(r[1])}`;
}

/** The original's figure at n as text, marked when it is issue 4's. */
export function fmtErlang(n: number, key: Exclude<Figure, 'pushesPerUpdate'>): string {
  const e = erlangAt(n, key);
  return e ? `${fmtRange(e.value)}${e.here ? '' : ISSUE4_MARK}` : '';
}
