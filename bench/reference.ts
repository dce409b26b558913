/**
 * The Erlang original's figures (issue 4): 2 cores, one BEAM per node,
 * distributed Erlang on loopback, default settings. Ranges are [low, high].
 */
export type Range = readonly [number, number];

export interface ReferenceRow {
  readonly n: number;
  readonly convergenceP50Ms: Range;
  readonly convergenceP95Ms: Range;
  readonly pushesPerUpdate: number;
  readonly setSyncP50Ms: Range;
  readonly setsPerSecLeader: Range;
  readonly setsPerSecNonLeader: Range;
  readonly coldStartMs: Range;
}

export const ERLANG: {
  readonly rows: readonly ReferenceRow[];
  readonly getNs: Range;
  readonly cfgHitNs: Range;
  readonly cfgMissNs: Range;
  readonly floor: string;
} = {
  rows: [
    { n: 3, convergenceP50Ms: [0.9, 0.9], convergenceP95Ms: [1.5, 1.5], pushesPerUpdate: 4, setSyncP50Ms: [1.1, 1.1], setsPerSecLeader: [38_000, 38_000], setsPerSecNonLeader: [5_500, 5_500], coldStartMs: [0.6, 1.6] },
    { n: 10, convergenceP50Ms: [2.3, 2.3], convergenceP95Ms: [7.7, 7.7], pushesPerUpdate: 18, setSyncP50Ms: [205, 205], setsPerSecLeader: [9_300, 12_400], setsPerSecNonLeader: [1_200, 1_700], coldStartMs: [1.5, 7] },
    { n: 25, convergenceP50Ms: [5.1, 6.3], convergenceP95Ms: [23, 25], pushesPerUpdate: 48, setSyncP50Ms: [210, 210], setsPerSecLeader: [7_400, 7_400], setsPerSecNonLeader: [500, 500], coldStartMs: [3, 16] },
  ],
  getNs: [1_600, 2_600],
  cfgHitNs: [27, 47],
  cfgMissNs: [1_600, 13_000],
  floor: 'one Redis pub/sub hop between two processes on loopback ~0.05-0.1 ms (request/reply ~0.11 ms p50); Map.get ~10 ns',
};

export function fmtRange(r: Range | undefined, digits = 1): string {
  if (!r) return '';
  const f = (x: number) => (x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits));
  return r[0] === r[1] ? f(r[0]) : `${f(r[0])}-${f(r[1])}`;
}
