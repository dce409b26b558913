/** The results as plain-text tables, with the original's and v1's figures and this run's floor beside ours. */
import { ERLANG, figureOf, fmtErlang, fmtRange, ISSUE4, ISSUE4_MARK, ISSUE4_NOTE, REFERENCE_NS, V1 } from './reference.js';
import type { Floor, Results } from './results.js';
import { computeTargets } from './targets.js';

function render(title: string, head: string[], rows: string[][], notes: string[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...notes.map((n) => `  ${n}`), ''].join('\n');
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const int = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const num = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const ratio = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));

/** This run's floor: the hop, PING, and the script floor with either kind of subscriber. */
export function renderFloor(f: Floor): string {
  const row = (what: string, n: string, s: Floor['pubsubHopMs'], timeouts = '', rates = ['', '']) =>
    [what, n, String(s.samples), ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max), timeouts, ...rates];
  const rate = (n: number, inFlight: number) => int(f.commitRate?.find((x) => x.n === n && x.inFlight === inFlight)?.perSecond);
  return render(
    "Floor: this machine's Redis commit-and-publish floor in this run, one OS process per subscriber node (ms)",
    ['floor', 'N', 'runs', 'p50', 'p95', 'p99', 'max', 'timeouts', 'commits/s', 'commits/s, 64 in flight'],
    [
      row('idle pub/sub hop between two processes', '', f.pubsubHopMs),
      row('PING round trip', '', f.pingRoundTripMs),
      ...(f.convergence ?? []).map((c) =>
        row(`floor: script + ${c.subscribers} subscribers`, String(c.n), c.latencyMs, String(c.timeouts), c.subscribers === 'ioredis' ? [rate(c.n, 1), rate(c.n, 64)] : ['', ''])),
    ],
    [
      'script: one EVALSHA of HSET + HINCRBY + PUBLISH of ~200 bytes to each of N-1 subscriber processes; convergence: from the send until the writer',
      'has its answer and every subscriber its message (process.hrtime, one clock for all processes), one commit at a time, 2 ms apart;',
      "commits/s: the script back to back from the writer, the N-1 subscribers listening. The issue's reference machine: a hop of 0.05-0.1 ms.",
    ],
  );
}

/** The ioredis script floor's convergence p50 at n, when this run measured it. */
const floorP50 = (r: Results, n: number) => r.floor?.convergence?.find((c) => c.subscribers === 'ioredis' && c.n === n)?.latencyMs.p50;
const floorRate = (r: Results, n: number, inFlight: number) => r.floor?.commitRate?.find((c) => c.n === n && c.inFlight === inFlight)?.perSecond;

export function renderTables(r: Results): string {
  const m = r.meta.machine;
  const out: string[] = [];
  out.push(`simple-gossip benchmark, ${r.meta.mode} mode, ${r.meta.date}`);
  out.push(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; node ${m.node}; redis ${m.redis} (${m.redisSource}); commit ${m.gitCommit ?? '?'}`);
  out.push(`load average (1 min): ${num(m.loadAtStart, 2)} at start, ${num(r.meta.load1AtEnd, 2)} at end; ran ${num(r.meta.durationS, 0)} s`);
  for (const n of r.meta.notes) out.push(`note: ${n}`);
  const rtt = r.harness.childCallRoundTripMs;
  if (rtt) out.push(`harness: a command to a child process and its answer (stdin/stdout) takes p50 ${ms(rtt.p50)} ms / p95 ${ms(rtt.p95)} ms; process-per-node times include about one such round trip`);
  out.push('');
  if (r.floor) out.push(renderFloor(r.floor));

  out.push(render(
    'Convergence: set() on a non-leader until every node has the data (ms)',
    ['impl', 'placement', 'N', 'runs', 'p50', 'p95', 'p99', 'max', 'timeouts', 'msgs/upd', 'pushes/upd', 'bytes/upd', 'p50 ÷ floor', 'Erlang p50', 'v1 p50', 'Erlang p95', 'Erlang pushes'],
    r.convergence.map((c) => {
      const perNode = c.placement === 'process-per-node';
      const ref = c.impl === 'simple-gossip' && perNode;
      const pushes = ref ? figureOf(ISSUE4, c.n, 'pushesPerUpdate') : undefined;
      return [c.impl, c.placement, String(c.n), String(c.runs), ms(c.latencyMs.p50), ms(c.latencyMs.p95), ms(c.latencyMs.p99), ms(c.latencyMs.max), String(c.timeouts),
        num(c.perUpdate?.messages), num(c.perUpdate?.pushes), int(c.perUpdate?.bytes), perNode ? ratio(c.latencyMs.p50 / (floorP50(r, c.n) ?? Number.NaN)) : '',
        ref ? fmtErlang(c.n, 'convergenceP50Ms') : '', ref ? fmtRange(figureOf(V1, c.n, 'convergenceP50Ms')) : '', ref ? fmtErlang(c.n, 'convergenceP95Ms') : '', pushes === undefined ? '' : `${pushes}${ISSUE4_MARK}`];
    }),
    [
      'msgs/upd, pushes/upd, bytes/upd: sent by all nodes together per write (write request and reply included in msgs and bytes).',
      "p50 ÷ floor: against this run's script floor with ioredis subscribers at the same N (the Floor table).",
      `set() on the leader instead, convergence p50: Erlang ${REFERENCE_NS.map((n) => `${fmtRange(figureOf(ERLANG, n, 'leaderConvergenceP50Ms'))} (N=${n})`).join(', ')}; v1 ${REFERENCE_NS.map((n) => fmtRange(figureOf(V1, n, 'leaderConvergenceP50Ms'))).join(' / ')}.`,
      ISSUE4_NOTE,
    ],
  ));

  out.push(render(
    'Write throughput: set() from one node (writes per second)',
    ['impl', 'N', 'from', 'in flight', 'writes/s', 'p50 ms', 'p99 ms', 'errors', '÷ floor', 'Erlang writes/s', 'v1 writes/s'],
    r.throughput.map((t) => {
      const ref = t.impl === 'simple-gossip' && t.inFlight === 1;
      const key = t.from === 'leader' ? 'setsPerSecLeader' : 'setsPerSecNonLeader';
      return [t.impl, String(t.n), t.from, String(t.inFlight), int(t.perSecond), ms(t.latencyMs.p50), ms(t.latencyMs.p99), String(t.errors), ratio(t.perSecond / (floorRate(r, t.n, t.inFlight) ?? Number.NaN)),
        ref ? fmtErlang(t.n, key) : '', ref ? fmtRange(figureOf(V1, t.n, key)) : ''];
    }),
    [
      "÷ floor: writes/s against this run's floor script called the same way (same N, same number in flight).",
      `set() on the leader, p50 per call: Erlang ${fmtRange(ERLANG.leaderSetP50Ms)} ms, v1 ${fmtRange(V1.leaderSetP50Ms)} ms (this machine).`,
      ISSUE4_NOTE,
    ],
  ));

  out.push(render(
    'setSync(): from a non-leader, until every member holds the version (ms)',
    ['N', 'runs', 'p50', 'p95', 'p99', 'errors', 'Erlang p50'],
    r.setSync.map((s) => [String(s.n), String(s.latencyMs.samples), ms(s.latencyMs.p50), ms(s.latencyMs.p95), ms(s.latencyMs.p99), String(s.errors), fmtErlang(s.n, 'setSyncP50Ms')]),
    [ISSUE4_NOTE],
  ));

  if (r.reads) {
    const erl: Record<string, string> = { 'get()': `${fmtRange(ISSUE4.getNs, 0)}${ISSUE4_MARK} (a server call)`, 'getCfg(key), hit': `${fmtRange(ISSUE4.cfgHitNs, 0)}${ISSUE4_MARK}`, 'getCfg(key), miss': `${fmtRange(ISSUE4.cfgMissNs, 0)}${ISSUE4_MARK}` };
    out.push(render(
      `Reads (ns/op, median of ${r.reads.rounds} rounds of ~${r.reads.roundMs} ms, after a warm-up)`,
      ['read', 'ns/op', '× Map.get', 'Erlang ns'],
      r.reads.rows.map((x) => [x.name, num(x.nsPerOp, 2), num(x.ratioToMapGet, 2), erl[x.name] ?? '']),
      [ISSUE4_NOTE],
    ));
  }

  out.push(render(
    'Cold start: Gossip.start() until get() returns the data, in this process (ms)',
    ['scenario', 'N', 'runs', 'p50', 'p95', 'max', 'Erlang', 'v1'],
    r.coldStart.map((c) => {
      const live = c.scenario.startsWith('snapshot + live');
      return [c.scenario, String(c.n), String(c.latencyMs.samples), ms(c.latencyMs.p50), ms(c.latencyMs.p95), ms(c.latencyMs.max), live ? fmtErlang(c.n, 'coldStartMs') : '', live ? fmtRange(figureOf(V1, c.n, 'coldStartMs')) : ''];
    }),
    ['Erlang, v1: a restart next to live peers, until get() is right.', ISSUE4_NOTE],
  ));

  if (r.naiveRatios.length > 0) {
    out.push(render(
      'Naive SET + PUBLISH (every node GETs on notice) against simple-gossip, one node per process (above 1: simple-gossip better)',
      ['N', 'conv. p50 naive÷sg', 'conv. p95 naive÷sg', 'writes/s sg÷naive, sequential', 'writes/s sg÷naive, 64 in flight'],
      r.naiveRatios.map((x) => [String(x.n), num(x.convergenceP50, 2), num(x.convergenceP95, 2), num(x.writesPerSecSequential, 2), num(x.writesPerSec64, 2)]),
      ['simple-gossip writes from a non-leader; the naive writer is any node.'],
    ));
  }

  const targets = computeTargets(r);
  if (targets.length > 0) {
    out.push(render(
      'Targets of issue 4 (one node per process)',
      ['target', 'N', 'ours', 'goal', 'Erlang', 'met'],
      targets.map((t) => [t.target, t.n === undefined ? '' : String(t.n), t.target.startsWith('sets/s') ? int(t.ours) : num(t.ours, 2), t.goal, t.erlang ?? '', t.met ? 'yes' : 'NO']),
      [ISSUE4_NOTE],
    ));
  }

  if (r.errors.length > 0) {
    out.push('Errors');
    for (const e of r.errors) out.push(`  ${e.section}: ${e.message.split('\n')[0]}`);
    out.push('');
  }
  return out.join('\n');
}
