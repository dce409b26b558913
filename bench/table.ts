/** The results as plain-text tables, with this run's floor, the original's and v1's figures beside ours, and issue 10's targets. */
import { ERLANG, figureOf, fmtErlang, fmtRange, ISSUE4, ISSUE4_MARK, ISSUE4_NOTE, V1 } from './reference.js';
import type { Floor, FloorConvergenceRow, FloorRateRow, Results } from './results.js';
import { computeTargets, DESIGN_FLOOR_NOTE, TARGETS_NOTE } from './targets.js';
import type { TargetRow } from './targets.js';

function render(title: string, head: string[], rows: string[][], notes: string[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [title, line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...notes.map((n) => `  ${n}`), ''].join('\n');
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const int = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US'));
const num = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
/** p50, p95, p99 and max of a summary, as the tables print them. */
const quantiles = (s: { p50: number; p95: number; p99: number; max: number }) => [ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)];
const ratio = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(d));

/** This run's floor: the hop, PING, the script floor with either kind of subscriber, and a lone commit after a burst. */
export function renderFloor(f: Floor): string {
  const row = (what: string, n: string, s: Floor['pubsubHopMs'], timeouts = '', rates = ['', ''], scriptUs = '') => [what, n, String(s.samples), ...quantiles(s), timeouts, ...rates, scriptUs];
  const rate = (n: number, inFlight: number) => int(f.commitRate?.find((x) => x.n === n && x.inFlight === inFlight)?.perSecond);
  const designRate = (n: number) => int(f.designCommitRate?.find((x) => x.n === n && x.inFlight === 1)?.perSecond);
  const burst = (f.loneAfterBurst ?? [])[0];
  const design = f.designConvergence ?? [];
  const cpuRow = (what: string) => (c: FloorRateRow) => [what, String(c.n), String(c.inFlight), int(c.perSecond), int(c.writerCpuUsPerCommit), int(c.subscriberCpuUsPerCommit), int(c.redisScriptUs)];
  return (
    render(
      "Floor: this machine's Redis commit-and-publish floor in this run, one OS process per subscriber node (ms)",
      ['floor', 'N', 'runs', 'p50', 'p95', 'p99', 'max', 'timeouts', 'commits/s', 'commits/s, 64 in flight', 'in Redis, µs/EVALSHA'],
      [
        row('idle pub/sub hop between two processes', '', f.pubsubHopMs),
        row('PING round trip', '', f.pingRoundTripMs),
        ...(f.convergence ?? []).map((c) =>
          row(`script + ${c.subscribers} subscribers`, String(c.n), c.latencyMs, String(c.timeouts), c.subscribers === 'ioredis' ? [rate(c.n, 1), rate(c.n, 64)] : ['', ''], num(c.redisScriptUs, 0)),
        ),
        ...(f.loneAfterBurst ?? []).map((c) => row('lone commit right after a burst, ioredis', String(c.n), c.latencyMs, String(c.timeouts))),
        ...design.map((c) => row('commit-2 + decoding ioredis subscribers', String(c.n), c.latencyMs, String(c.timeouts), [designRate(c.n), ''], num(c.redisScriptUs, 0))),
        ...(f.designSync ?? []).map((c) => row('  the same, setSync: until every ack', String(c.n), c.latencyMs, String(c.timeouts))),
      ],
      [
        'script: one EVALSHA of HSET + HINCRBY + PUBLISH of ~200 bytes to each of N-1 subscriber processes; convergence: from the send until the writer',
        'has its answer and every subscriber its message (process.hrtime, one clock for all processes), one commit at a time, 2 ms apart;',
        "commits/s: the script back to back from the writer, the N-1 subscribers listening. in Redis: Redis's own time per EVALSHA (INFO commandstats).",
        ...(burst ? [`lone commit after a burst: ${burst.burst} commits, ${burst.inFlight} in flight, then at once one commit, timed as above; ${burst.reps} times.`] : []),
        ...(design.length > 0 ? [DESIGN_FLOOR_NOTE] : []),
      ],
    ) +
    render(
      "The floor's CPU per commit, back to back (µs, user + system)",
      ['floor', 'N', 'in flight', 'commits/s', 'writer (this process)', 'each subscriber process', 'Redis, per EVALSHA'],
      [...(f.commitRate ?? []).map(cpuRow('script')), ...(f.designCommitRate ?? []).map(cpuRow('commit-2 + decoding'))],
    )
  );
}

const floorP50 = (r: Results, n: number, subscribers: 'ioredis' | 'raw-socket' = 'ioredis') =>
  r.floor?.convergence?.find((c) => c.subscribers === subscribers && c.n === n && c.latencyMs.samples > 0)?.latencyMs.p50;
const floorRate = (r: Results, n: number, inFlight: number) => r.floor?.commitRate?.find((c) => c.n === n && c.inFlight === inFlight)?.perSecond;

function fmtTarget(t: TargetRow, x: number): string {
  if (Number.isNaN(x)) return '-';
  switch (t.unit) {
    case '/s':
      return int(x);
    case 'ratio':
      return x === 1 ? 'yes' : 'no';
    case 'KiB':
      return num(x, 2);
    default:
      return ms(x);
  }
}

export function renderTargets(r: Results): string {
  const targets = computeTargets(r);
  const met = targets.filter((t) => t.met === true).length;
  const missed = targets.filter((t) => t.met === false).length;
  const outOfReach = targets.filter((t) => t.outOfReach !== undefined).length;
  return render(
    `Targets of issue 10 (one node per process unless said): ${met} met, ${missed} not met (${outOfReach} of them out of reach, shown by this run's floor), ${targets.length - met - missed} not run`,
    ['target', 'N', 'ours', 'goal', 'ours ÷ bound', 'met', 'note'],
    targets.map((t) => [
      t.target,
      t.n === undefined ? '' : String(t.n),
      fmtTarget(t, t.ours),
      t.goal,
      t.unit === 'ratio' || Number.isNaN(t.ours) ? '' : ratio(t.ours / t.bound),
      t.met === null ? 'not run' : t.met ? 'met' : t.outOfReach ? 'out of reach' : 'NOT MET',
      [t.outOfReach, t.note].filter(Boolean).join('; '),
    ]),
    TARGETS_NOTE,
  );
}

export function renderTables(r: Results): string {
  const m = r.meta.machine;
  const out: string[] = [];
  out.push(`simple-gossip benchmark, ${r.meta.mode} mode, ${r.meta.date}`);
  out.push(`machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; node ${m.node}; redis ${m.redis} (${m.redisSource}); commit ${m.gitCommit ?? '?'}`);
  out.push(`load average (1 min): ${num(m.loadAtStart, 2)} at start, ${num(r.meta.load1AtEnd, 2)} at end; ran ${num(r.meta.durationS, 0)} s`);
  for (const n of r.meta.notes) out.push(`note: ${n}`);
  out.push('');
  if (r.floor) out.push(renderFloor(r.floor));

  const child = r.convergence.filter((c) => c.placement === 'process-per-node');
  out.push(
    render(
      'Convergence: set() until every node (the writer included) has emitted its data event, one node per process (ms)',
      ['impl', 'N', 'from', 'runs', 'p50', 'p95', 'p99', 'max', 'timeouts', 'errors', 'recv/upd', 'recv bytes/upd', 'sent/upd', 'p50 ÷ floor', 'p95 ÷ floor', 'Erlang p50', 'v1 p50'],
      child.map((c) => {
        const sg = c.impl === 'simple-gossip';
        const key = c.from === 'leader' ? 'leaderConvergenceP50Ms' : 'convergenceP50Ms';
        const fl = r.floor?.convergence?.find((x) => x.subscribers === 'ioredis' && x.n === c.n)?.latencyMs;
        return [
          c.impl,
          String(c.n),
          c.from,
          String(c.runs),
          ...quantiles(c.latencyMs),
          String(c.timeouts),
          String(c.errors),
          num(c.perUpdate?.received),
          int(c.perUpdate?.receivedBytes),
          num(c.perUpdate?.sent, 2),
          ratio(c.latencyMs.p50 / (fl?.p50 ?? Number.NaN)),
          ratio(c.latencyMs.p95 / (fl?.p95 ?? Number.NaN)),
          sg ? fmtErlang(c.n, key) : '',
          sg ? fmtRange(figureOf(V1, c.n, key)) : '',
        ];
      }),
      [
        'Stamped in the child processes (process.hrtime): the writer just before it calls set(), every node in its data event handler; one write at a time, 2 ms apart,',
        'after 50 unreported writes. The non-leaders write in turn. recv/upd, recv bytes/upd: messages (the change frames the script published) all nodes',
        "received per write; sent/upd: messages the nodes sent themselves (heads, version requests) per write. ÷ floor: this run's script floor, ioredis subscribers, same N.",
        `Erlang and v1: p50 on this machine, set() on a non-leader or on the leader as the row says. ${ISSUE4_NOTE}`,
      ],
    ),
  );

  const split = child.filter((c) => c.breakdown);
  if (split.length > 0) {
    out.push(
      render(
        "Where a convergence sample goes: medians, ms from the writer's stamp just before set()",
        ['impl', 'N', 'from', "writer's set() resolved", "writer's data event", 'first other node', 'last other node', 'p50 (the last of all)', 'in Redis, µs/EVALSHA', "floor's µs/EVALSHA"],
        split.map((c) => {
          const fl = r.floor?.convergence?.find((x) => x.subscribers === 'ioredis' && x.n === c.n)?.redisScriptUs;
          return [
            c.impl,
            String(c.n),
            c.from,
            ms(c.breakdown!.writerSetResolved),
            ms(c.breakdown!.writerData),
            ms(c.breakdown!.firstReceiver),
            ms(c.breakdown!.lastReceiver),
            ms(c.latencyMs.p50),
            c.redisScriptUs === undefined ? '' : num(c.redisScriptUs, 0),
            c.impl === 'naive' ? '' : num(fl, 0),
          ];
        }),
        [
          "naive: 'set() resolved' is its SET + PUBLISH answered; its data events are each node's GET answered (the writer's too).",
          "in Redis: Redis's own time per EVALSHA during the samples (INFO commandstats): the commit script (and the few ticks meanwhile); floor: its script, same N.",
        ],
      ),
    );
  }

  const inProc = r.convergence.filter((c) => c.placement === 'in-process');
  if (inProc.length > 0) {
    out.push(
      render(
        'In one process: N Gossip instances on one event loop, set() from a non-leader until every node has emitted its data event (ms)',
        ['N', 'started in (s)', 'cluster formed in (s)', 'runs', 'samples', 'p50', 'p95', 'p99', 'max', 'timeouts', 'errors', 'recv/upd', 'note'],
        inProc.map((c) => [
          String(c.n),
          num((c.startMs ?? Number.NaN) / 1000, 2),
          num((c.formMs ?? Number.NaN) / 1000, 2),
          String(c.runs),
          String(c.latencyMs.samples),
          ...quantiles(c.latencyMs),
          String(c.timeouts),
          String(c.errors),
          num(c.perUpdate?.received),
          c.note ?? '',
        ]),
        ['started: every Gossip.start(), 20 at a time; formed: one-node clusters merged pairwise by join() (log2 N rounds), until every node lists all N.'],
      ),
    );
  }

  out.push(
    render(
      "Write throughput: set() in a loop inside one node's process (writes per second)",
      ['impl', 'N', 'from', 'in flight', 'writes/s', 'p50 ms', 'p99 ms', 'errors', '÷ floor', '64 ÷ sequential', 'Erlang writes/s', 'v1 writes/s'],
      r.throughput.map((t) => {
        const ref = t.impl === 'simple-gossip' && t.inFlight === 1;
        const key = t.from === 'leader' ? 'setsPerSecLeader' : 'setsPerSecNonLeader';
        const seq = r.throughput.find((x) => x.impl === t.impl && x.n === t.n && x.from === t.from && x.inFlight === 1)?.perSecond;
        return [
          t.impl,
          String(t.n),
          t.from,
          String(t.inFlight),
          int(t.perSecond),
          ms(t.latencyMs.p50),
          ms(t.latencyMs.p99),
          String(t.errors),
          ratio(t.perSecond / (floorRate(r, t.n, t.inFlight) ?? Number.NaN)),
          t.inFlight === 1 ? '' : ratio(t.perSecond / (seq ?? Number.NaN)),
          ref ? fmtErlang(t.n, key) : '',
          ref ? fmtRange(figureOf(V1, t.n, key)) : '',
        ];
      }),
      [
        "÷ floor: against this run's floor script called the same way from one process (same N, same number in flight).",
        `set() on the leader, p50 per call: Erlang ${fmtRange(ERLANG.leaderSetP50Ms)} ms, v1 ${fmtRange(V1.leaderSetP50Ms)} ms (this machine).`,
        ISSUE4_NOTE,
      ],
    ),
  );

  const cpuRows = r.throughput.filter((t) => t.impl === 'simple-gossip' && t.writerCpuUs !== undefined);
  if (cpuRows.length > 0) {
    const floorRow = (n: number, inFlight: number) => r.floor?.commitRate?.find((c) => c.n === n && c.inFlight === inFlight);
    out.push(
      render(
        "CPU per write, back to back: where a write's cost goes (µs per write, user + system)",
        ['impl', 'N', 'from', 'in flight', 'writer', 'each other node', 'all other nodes', 'Redis, per EVALSHA', 'floor: writer', 'floor: each subscriber', 'floor: all subscribers', 'floor: Redis'],
        cpuRows.map((t) => {
          const f = floorRow(t.n, t.inFlight);
          return [
            t.impl,
            String(t.n),
            t.from,
            String(t.inFlight),
            int(t.writerCpuUs),
            int(t.receiverCpuUs),
            int((t.receiverCpuUs ?? Number.NaN) * (t.n - 1)),
            int(t.redisScriptUs),
            int(f?.writerCpuUsPerCommit),
            int(f?.subscriberCpuUsPerCommit),
            int((f?.subscriberCpuUsPerCommit ?? Number.NaN) * (t.n - 1)),
            int(f?.redisScriptUs),
          ];
        }),
        [
          "ours: each child's process.cpuUsage() over the throughput run (until every node caught up), per write; Redis: its own time per EVALSHA (INFO commandstats).",
          "floor: the same over its commits/s run (the writer is the bench process; subscribers report their CPU time). All processes share the machine's cores:",
          'writer + all other nodes + Redis per write, divided by the cores, bounds the sequential rate when the machine is otherwise idle.',
        ],
      ),
    );
  }

  const idleCpu = child.filter((c) => c.impl === 'simple-gossip' && c.receiverCpuUs !== undefined);
  if (idleCpu.length > 0) {
    const floorCpu = (n: number, subscribers: FloorConvergenceRow['subscribers']) =>
      r.floor?.[subscribers === 'decode' ? 'designConvergence' : 'convergence']?.find((c) => c.n === n && c.subscribers === subscribers);
    out.push(
      render(
        'CPU per convergence sample, woken from idle: what each receiving process spends on one write (µs, user + system)',
        ['N', 'simple-gossip, each other node', 'conv. p50', 'design floor, each subscriber', 'conv. p50', 'floor, each subscriber', 'conv. p50', 'ours ÷ design floor'],
        idleCpu.map((c) => {
          const design = floorCpu(c.n, 'decode');
          const bare = floorCpu(c.n, 'ioredis');
          return [
            String(c.n),
            int(c.receiverCpuUs),
            ms(c.latencyMs.p50),
            int(design?.receiverCpuUs),
            ms(design?.latencyMs.p50 ?? Number.NaN),
            int(bare?.receiverCpuUs),
            ms(bare?.latencyMs.p50 ?? Number.NaN),
            ratio((c.receiverCpuUs ?? Number.NaN) / (design?.receiverCpuUs ?? Number.NaN)),
          ];
        }),
        [
          "ours: the convergence samples from the leader, each other child's process.cpuUsage() over them, per sample; the floors: each subscriber's over their",
          'convergence samples. The idle time between samples is in every figure. With N-1 receivers and C cores, (N-1) × this ÷ C is most of',
          'convergence once N-1 outnumbers the cores: the receivers run in turn.',
        ],
      ),
    );
  }

  if (r.loneAfterBurst.length > 0) {
    out.push(
      render(
        'A lone write right after a burst: its convergence, one node per process (ms)',
        ['N', 'from', 'bursts', 'burst', 'p50', 'p95', 'max', 'timeouts', 'errors', 'idle conv. p50', '÷ idle', 'floor p50', '÷ floor', 'burst writes/s'],
        r.loneAfterBurst.map((x) => {
          const idle = child.find((c) => c.impl === 'simple-gossip' && c.n === x.n && c.from === x.from)?.latencyMs.p50;
          const fl = r.floor?.loneAfterBurst?.find((f) => f.n === x.n)?.latencyMs.p50;
          return [
            String(x.n),
            x.from,
            String(x.reps),
            `${x.burst}, ${x.inFlight} in flight`,
            ms(x.latencyMs.p50),
            ms(x.latencyMs.p95),
            ms(x.latencyMs.max),
            String(x.timeouts),
            String(x.errors),
            ms(idle),
            ratio(x.latencyMs.p50 / (idle ?? Number.NaN)),
            ms(fl),
            ratio(x.latencyMs.p50 / (fl ?? Number.NaN)),
            int(x.burstPerSecond),
          ];
        }),
        ['The writer runs the burst of set() calls, then at once one set() of a fresh mark, stamped as in the convergence table; floor: the same with the floor script (Floor table).'],
      ),
    );
  }

  out.push(
    render(
      'setSync(): from a non-leader, in a loop inside its process, until every member holds the version (ms)',
      ['N', 'runs', 'p50', 'p95', 'p99', 'errors', 'conv. p50', '÷ conv. p50', 'design floor p50', 'its ÷ its conv. p50', 'Erlang p50'],
      r.setSync.map((s) => {
        const c = child.find((x) => x.impl === 'simple-gossip' && x.n === s.n && x.from === 'non-leader')?.latencyMs.p50;
        const design = r.floor?.designSync?.find((x) => x.n === s.n)?.latencyMs.p50;
        const designConv = r.floor?.designConvergence?.find((x) => x.n === s.n)?.latencyMs.p50;
        return [
          String(s.n),
          String(s.latencyMs.samples),
          ms(s.latencyMs.p50),
          ms(s.latencyMs.p95),
          ms(s.latencyMs.p99),
          String(s.errors),
          ms(c),
          ratio(s.latencyMs.p50 / (c ?? Number.NaN)),
          ms(design),
          ratio((design ?? Number.NaN) / (designConv ?? Number.NaN)),
          fmtErlang(s.n, 'setSyncP50Ms'),
        ];
      }),
      [
        "design floor: commit-2.lua bare whose meta asks for acks; its subscribers decode the frame and publish an ack envelope to the writer (this process), as the library's members do; until the writer has them all. Its conv.: the design floor's convergence.",
        ISSUE4_NOTE,
      ],
    ),
  );

  if (r.reads) {
    const erl: Record<string, string> = {
      'get()': `${fmtRange(ISSUE4.getNs, 0)}${ISSUE4_MARK} (a server call)`,
      'getCfg(key), hit': `${fmtRange(ISSUE4.cfgHitNs, 0)}${ISSUE4_MARK}`,
      'getCfg(key), miss': `${fmtRange(ISSUE4.cfgMissNs, 0)}${ISSUE4_MARK}`,
    };
    out.push(
      render(
        `Reads (ns/op, median of ${r.reads.rounds} rounds of ~${r.reads.roundMs} ms, after a warm-up)`,
        ['read', 'ns/op', '× Map.get', 'Erlang ns'],
        r.reads.rows.map((x) => [x.name, num(x.nsPerOp, 2), num(x.ratioToMapGet, 2), erl[x.name] ?? '']),
        [ISSUE4_NOTE],
      ),
    );
  }

  out.push(
    render(
      'Cold start: Gossip.start() until get() returns the right data, in this process, its Redis connections included (ms)',
      ['scenario', 'N', 'runs', 'p50', 'p95', 'max', 'Erlang', 'v1'],
      r.coldStart.map((c) => {
        const live = c.scenario.startsWith('restart into');
        return [
          c.scenario,
          String(c.n),
          String(c.latencyMs.samples),
          ms(c.latencyMs.p50),
          ms(c.latencyMs.p95),
          ms(c.latencyMs.max),
          live ? fmtErlang(c.n, 'coldStartMs') : '',
          live ? fmtRange(figureOf(V1, c.n, 'coldStartMs')) : '',
        ];
      }),
      ['N: the members of the live cluster (child processes) it starts next to. Erlang, v1: a restart next to live peers, until get() is right.', ISSUE4_NOTE],
    ),
  );

  const t = r.redisTraffic;
  if (t) {
    out.push(
      render(
        `Bytes into and out of Redis for one ${t.valueBytes}-byte setCfg, ${t.members} members, a ${Math.round(t.configBytes / 1024)} KiB config (INFO stats, median of ${t.runs})`,
        ['', 'into Redis', 'out of Redis'],
        [
          ['one setCfg (KiB)', num(t.inBytes / 1024, 2), num(t.outBytes / 1024, 2)],
          ['  around the write, INFO included (bytes)', int(t.writeInBytes), int(t.writeOutBytes)],
          ['  around an idle window as long (bytes)', int(t.idleInBytes), int(t.idleOutBytes)],
          ['v1 (issue 10, KiB)', '1,164', '874'],
        ],
        [
          `The bench's own redis-server, ${t.connectedClients} clients connected (the members' and the one reading INFO); every member had the value ${ms(t.convergedMs)} ms after setCfg() was called (median).`,
        ],
      ),
    );
  }

  const raw = (r.floor?.convergence ?? []).filter((c) => c.subscribers === 'raw-socket' && c.latencyMs.samples > 0);
  if (raw.length > 0) {
    out.push(
      render(
        'The subscriber path: what a leaner subscriber connection than ioredis would bring (convergence p50, ms)',
        ['N', 'floor, ioredis', 'floor, raw socket', 'ioredis costs', 'ours, non-leader', 'ours − that', 'Erlang'],
        raw.map((c) => {
          const io = floorP50(r, c.n);
          const ours = child.find((x) => x.impl === 'simple-gossip' && x.n === c.n && x.from === 'non-leader')?.latencyMs.p50;
          const saved = (io ?? Number.NaN) - c.latencyMs.p50;
          return [String(c.n), ms(io), ms(c.latencyMs.p50), ms(saved), ms(ours), ms((ours ?? Number.NaN) - saved), fmtErlang(c.n, 'convergenceP50Ms')];
        }),
        [
          "raw socket: the floor with subscriber processes that read RESP off a plain net.Socket (resp.ts); ours − that: our p50 if the library's subscriber saved as much (a negative saving: none measurable in this run).",
        ],
      ),
    );
  }

  if (r.naiveRatios.length > 0) {
    out.push(
      render(
        'Naive SET + PUBLISH (every node GETs on notice) against simple-gossip, one node per process (above 1: simple-gossip better)',
        ['N', 'conv. p50 naive÷sg', 'conv. p95 naive÷sg', 'writes/s sg÷naive, sequential', 'writes/s sg÷naive, 64 in flight'],
        r.naiveRatios.map((x) => [String(x.n), num(x.convergenceP50, 2), num(x.convergenceP95, 2), num(x.writesPerSecSequential, 2), num(x.writesPerSec64, 2)]),
        ['simple-gossip writes from a non-leader; the naive writer is any node; both stamped the same way.'],
      ),
    );
  }

  out.push(renderTargets(r));

  if (r.errors.length > 0) {
    out.push('Errors');
    for (const e of r.errors) out.push(`  ${e.section}: ${e.message.split('\n')[0]}`);
    out.push('');
  }
  return out.join('\n');
}
