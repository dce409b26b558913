/**
 * The targets of issue 4, checked against a run's figures (one node per
 * process, as the issue asks), each with the original's figure beside ours:
 * this machine's where it was measured, else issue 4's (marked, see reference.ts).
 */
import { erlangAt, ISSUE4_MARK, REFERENCE_NS } from './reference.js';
import type { Range } from './reference.js';
import type { Impl, Results } from './results.js';

export interface TargetRow {
  readonly target: string;
  readonly n?: number;
  readonly ours: number;
  readonly goal: string;
  readonly erlang?: string;
  readonly met: boolean;
}

const hi = (r: Range) => r[1];
const big = (x: number) => Math.round(x).toLocaleString('en-US');
const lo = (r: Range) => r[0];
const mark = (e: { here: boolean }) => (e.here ? '' : ISSUE4_MARK);

/** The targets with the default settings, then again with fencing off (the original's guarantees). */
export function computeTargets(r: Results): TargetRow[] {
  const fenced = targetsOf(r, 'simple-gossip', '');
  const unfenced = targetsOf(r, 'simple-gossip, no fencing', ', no fencing').filter((t) => !t.target.startsWith('setSync'));
  return [...fenced, ...unfenced.filter((t) => t.target.includes('no fencing') && t.n !== undefined && (t.target.includes('convergence') || t.target.includes('sets/s'))), ...readsAndColdStart(r)];
}

function targetsOf(r: Results, impl: Impl, tag: string): TargetRow[] {
  const out: TargetRow[] = [];
  const conv = (n: number) => r.convergence.find((c) => c.impl === impl && c.placement === 'process-per-node' && c.n === n && c.latencyMs.samples > 0);
  const tp = (n: number, from: 'leader' | 'non-leader') => r.throughput.find((t) => t.impl === impl && t.n === n && t.from === from && t.inFlight === 1);
  for (const n of REFERENCE_NS) {
    const c = conv(n);
    const p50 = erlangAt(n, 'convergenceP50Ms');
    const p95 = erlangAt(n, 'convergenceP95Ms');
    const pushes = erlangAt(n, 'pushesPerUpdate');
    if (c) {
      if (p50) out.push({ target: `convergence p50 below the original (ms)${tag}`, n, ours: c.latencyMs.p50, goal: `< ${lo(p50.value)}`, erlang: `${lo(p50.value)}${mark(p50)}`, met: c.latencyMs.p50 < lo(p50.value) });
      if (n === 25 && p95) {
        const goal = lo(p95.value) / 2;
        out.push({ target: `convergence p95 at most half the original (ms)${tag}`, n, ours: c.latencyMs.p95, goal: `<= ${goal}`, erlang: `${lo(p95.value)}${mark(p95)}`, met: c.latencyMs.p95 <= goal });
      }
      if (c.perUpdate && pushes) {
        out.push({ target: 'full-rumor pushes per update: no more than the original', n, ours: c.perUpdate.pushes, goal: `<= ${pushes.value}`, erlang: `${pushes.value}${mark(pushes)}`, met: c.perUpdate.pushes <= pushes.value });
      }
      const s = r.setSync.find((x) => x.n === n);
      const sync = erlangAt(n, 'setSyncP50Ms');
      if (s) {
        const goal = 2 * c.latencyMs.p50;
        out.push({ target: 'setSync p50 at most 2x convergence p50 (ms)', n, ours: s.latencyMs.p50, goal: `<= ${goal.toFixed(2)}`, ...(sync ? { erlang: `${lo(sync.value)}${mark(sync)}` } : {}), met: s.latencyMs.p50 <= goal });
      }
    }
    const leader = tp(n, 'leader');
    const other = tp(n, 'non-leader');
    const eLeader = erlangAt(n, 'setsPerSecLeader');
    const eOther = erlangAt(n, 'setsPerSecNonLeader');
    // 3x from a non-leader at every N; from the leader 2x (the issue names N=25).
    if (other && eOther) out.push({ target: `sets/s, sequential, from a non-leader: 3x the original${tag}`, n, ours: other.perSecond, goal: `>= ${big(3 * hi(eOther.value))}`, erlang: `${big(hi(eOther.value))}${mark(eOther)}`, met: other.perSecond >= 3 * hi(eOther.value) });
    if (leader && eLeader) out.push({ target: `sets/s, sequential, from the leader: 2x the original${tag}`, n, ours: leader.perSecond, goal: `>= ${big(2 * hi(eLeader.value))}`, erlang: `${big(hi(eLeader.value))}${mark(eLeader)}`, met: leader.perSecond >= 2 * hi(eLeader.value) });
  }
  return out;
}

function readsAndColdStart(r: Results): TargetRow[] {
  const out: TargetRow[] = [];
  for (const row of r.reads?.rows ?? []) {
    if (!['get()', 'getCfg(key), hit', 'getCfg(key), miss'].includes(row.name)) continue;
    out.push({ target: `${row.name} within 2x of Map.get (ratio)`, ours: row.ratioToMapGet, goal: '<= 2', met: row.ratioToMapGet <= 2 });
  }
  for (const c of r.coldStart.filter((x) => x.scenario.startsWith('snapshot'))) {
    out.push({ target: `cold start p50 under 5 ms: ${c.scenario}`, n: c.n, ours: c.latencyMs.p50, goal: '< 5', met: c.latencyMs.p50 < 5 });
  }
  return out;
}
