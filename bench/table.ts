/** The results as plain-text tables, with the original's figures beside ours. */
import { ERLANG, fmtRange } from './reference.js';
import type { ReferenceRow } from './reference.js';
import type { Results } from './results.js';
import { computeTargets } from './targets.js';

function render(title: string, head: string[], rows: string[][], notes: string[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...notes.map((n) => `  ${n}`), ''].join('\n');
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const int = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const num = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const ref = (n: number): ReferenceRow | undefined => ERLANG.rows.find((r) => r.n === n);

export function renderTables(r: Results): string {
  const m = r.meta.machine;
  const out: string[] = [];
  out.push(`simple-gossip benchmark, ${r.meta.mode} mode, ${r.meta.date}`);
  out.push(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; node ${m.node}; redis ${m.redis} (${m.redisSource}); commit ${m.gitCommit ?? '?'}`);
  out.push(`load average (1 min): ${num(m.loadAtStart, 2)} at start, ${num(r.meta.load1AtEnd, 2)} at end; ran ${num(r.meta.durationS, 0)} s`);
  for (const n of r.meta.notes) out.push(`note: ${n}`);
  const rtt = r.harness.childCallRoundTripMs;
  if (rtt) out.push(`harness: a command to a child process and its answer (stdin/stdout) takes p50 ${ms(rtt.p50)} ms / p95 ${ms(rtt.p95)} ms; process-per-node times include about one such round trip`);
  const f = r.floor;
  if (f) out.push(`floor in this run: an idle Redis pub/sub hop between two processes p50 ${ms(f.pubsubHopMs.p50)} ms / p95 ${ms(f.pubsubHopMs.p95)} ms (the issue's reference machine: 0.05-0.1 ms); a PING round trip p50 ${ms(f.pingRoundTripMs.p50)} ms`);
  out.push('');

  out.push(render(
    'Convergence: set() on a non-leader until every node has the data (ms)',
    ['impl', 'placement', 'N', 'runs', 'p50', 'p95', 'p99', 'max', 'timeouts', 'msgs/upd', 'pushes/upd', 'bytes/upd', 'Erlang p50', 'Erlang p95', 'Erlang pushes'],
    r.convergence.map((c) => {
      const e = c.impl === 'simple-gossip' && c.placement === 'process-per-node' ? ref(c.n) : undefined;
      return [c.impl, c.placement, String(c.n), String(c.runs), ms(c.latencyMs.p50), ms(c.latencyMs.p95), ms(c.latencyMs.p99), ms(c.latencyMs.max), String(c.timeouts),
        num(c.perUpdate?.messages), num(c.perUpdate?.pushes), int(c.perUpdate?.bytes), fmtRange(e?.convergenceP50Ms), fmtRange(e?.convergenceP95Ms), e ? String(e.pushesPerUpdate) : ''];
    }),
    ['msgs/upd, pushes/upd, bytes/upd: sent by all nodes together per write (write request and reply included in msgs and bytes).'],
  ));

  out.push(render(
    'Write throughput: set() from one node (writes per second)',
    ['impl', 'N', 'from', 'in flight', 'writes/s', 'p50 ms', 'p99 ms', 'errors', 'Erlang writes/s'],
    r.throughput.map((t) => {
      const e = t.impl === 'simple-gossip' && t.inFlight === 1 ? ref(t.n) : undefined;
      const erl = e ? fmtRange(t.from === 'leader' ? e.setsPerSecLeader : e.setsPerSecNonLeader) : '';
      return [t.impl, String(t.n), t.from, String(t.inFlight), int(t.perSecond), ms(t.latencyMs.p50), ms(t.latencyMs.p99), String(t.errors), erl];
    }),
  ));

  out.push(render(
    'setSync(): from a non-leader, until every member holds the version (ms)',
    ['N', 'runs', 'p50', 'p95', 'p99', 'errors', 'Erlang p50'],
    r.setSync.map((s) => [String(s.n), String(s.latencyMs.samples), ms(s.latencyMs.p50), ms(s.latencyMs.p95), ms(s.latencyMs.p99), String(s.errors), fmtRange(ref(s.n)?.setSyncP50Ms)]),
  ));

  if (r.reads) {
    const erl: Record<string, string> = { 'get()': `${fmtRange(ERLANG.getNs, 0)} (a server call)`, 'getCfg(key), hit': fmtRange(ERLANG.cfgHitNs, 0), 'getCfg(key), miss': fmtRange(ERLANG.cfgMissNs, 0) };
    out.push(render(
      `Reads (ns/op, median of ${r.reads.rounds} rounds of ~${r.reads.roundMs} ms, after a warm-up)`,
      ['read', 'ns/op', '× Map.get', 'Erlang ns'],
      r.reads.rows.map((x) => [x.name, num(x.nsPerOp, 2), num(x.ratioToMapGet, 2), erl[x.name] ?? '']),
    ));
  }

  out.push(render(
    'Cold start: Gossip.start() until get() returns the data, in this process (ms)',
    ['scenario', 'N', 'runs', 'p50', 'p95', 'max', 'Erlang'],
    r.coldStart.map((c) => [c.scenario, String(c.n), String(c.latencyMs.samples), ms(c.latencyMs.p50), ms(c.latencyMs.p95), ms(c.latencyMs.max), c.scenario.startsWith('snapshot + live') ? fmtRange(ref(c.n)?.coldStartMs) : '']),
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
    ));
  }

  if (r.errors.length > 0) {
    out.push('Errors');
    for (const e of r.errors) out.push(`  ${e.section}: ${e.message.split('\n')[0]}`);
    out.push('');
  }
  return out.join('\n');
}
