/**
 * Convergence p50/p95 against cluster size, as an SVG drawn by vega-lite from
 * the results JSON: simple-gossip (one node per process, set() on a
 * non-leader and on the leader, and all in one process), the naive
 * SET + PUBLISH alternative, this run's script floor, and the Erlang
 * original and v1 (p50 from a non-leader, measured on this machine).
 * `npx tsx bench/plot.ts [results.json] [out.svg]` redraws it from a file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { ERLANG, V1 } from './reference.js';
import type { Reference } from './reference.js';
import type { Results } from './results.js';

interface Point {
  readonly n: number;
  readonly ms: number;
  readonly series: string;
  readonly percentile: 'p50' | 'p95';
}

const SERIES = {
  child: 'simple-gossip v2, process per node, non-leader',
  leader: 'simple-gossip v2, process per node, leader',
  inproc: 'simple-gossip v2, one process',
  naive: 'naive SET+PUBLISH',
  floor: 'floor: script + ioredis subscribers',
  erlang: 'Erlang original (ref.)',
  v1: 'simple-gossip v1 (ref.)',
} as const;
const COLORS = { child: '#1f5fa8', leader: '#2a9d4b', inproc: '#7fb2e5', naive: '#e6810f', floor: '#000000', erlang: '#888888', v1: '#c44e52' } as const;

export function points(r: Results): Point[] {
  const out: Point[] = [];
  for (const c of r.convergence) {
    if (c.latencyMs.samples === 0) continue;
    const series = c.impl === 'naive' ? SERIES.naive : c.placement === 'in-process' ? SERIES.inproc : c.from === 'leader' ? SERIES.leader : SERIES.child;
    out.push({ n: c.n, ms: c.latencyMs.p50, series, percentile: 'p50' }, { n: c.n, ms: c.latencyMs.p95, series, percentile: 'p95' });
  }
  for (const c of r.floor?.convergence ?? []) {
    if (c.subscribers !== 'ioredis' || c.latencyMs.samples === 0) continue;
    out.push({ n: c.n, ms: c.latencyMs.p50, series: SERIES.floor, percentile: 'p50' }, { n: c.n, ms: c.latencyMs.p95, series: SERIES.floor, percentile: 'p95' });
  }
  const reference = (ref: Reference, series: string) => {
    for (const row of ref.rows) {
      const p50 = row.convergenceP50Ms;
      if (p50) out.push({ n: row.n, ms: (p50[0] + p50[1]) / 2, series, percentile: 'p50' });
    }
  };
  reference(ERLANG, SERIES.erlang);
  reference(V1, SERIES.v1);
  return out;
}

export async function convergenceSvg(r: Results): Promise<string> {
  const m = r.meta.machine;
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Convergence: set() until every node has it',
      subtitle: [
        `${r.meta.mode} run ${r.meta.date.slice(0, 16).replace('T', ' ')} UTC; ${m.cpuModel}, ${m.cores} cores; Redis ${m.redis}; node ${m.node}`,
        'solid: p50, dashed: p95; the Erlang original and v1: p50 measured on this machine',
        ...(r.floor ? [`this run's floor: an idle pub/sub hop between two processes, p50 ${r.floor.pubsubHopMs.p50.toFixed(2)} ms`] : []),
      ],
    },
    width: 560,
    height: 340,
    background: 'white',
    data: { values: points(r) as unknown as Record<string, unknown>[] },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'n', type: 'quantitative', title: 'nodes (N)', scale: { type: 'log', domain: [2.5, 1200] }, axis: { values: [3, 10, 25, 100, 1000] } },
      y: { field: 'ms', type: 'quantitative', title: 'milliseconds (log scale)', scale: { type: 'log' } },
      color: {
        field: 'series',
        type: 'nominal',
        title: 'implementation',
        scale: { domain: Object.values(SERIES), range: Object.values(COLORS) },
        legend: { orient: 'right', labelLimit: 400 },
      },
      strokeDash: {
        field: 'percentile',
        type: 'nominal',
        title: 'percentile',
        scale: {
          domain: ['p50', 'p95'],
          range: [
            [1, 0],
            [6, 4],
          ],
        },
      },
      shape: { field: 'percentile', type: 'nominal', title: 'percentile' },
      tooltip: [{ field: 'series' }, { field: 'percentile' }, { field: 'n' }, { field: 'ms', format: '.2f' }],
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const input = process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
  const output = process.argv[3] ?? fileURLToPath(new URL('./results/convergence.svg', import.meta.url));
  const svg = await convergenceSvg(JSON.parse(readFileSync(input, 'utf8')) as Results);
  writeFileSync(output, svg);
  console.log(`wrote ${output}`);
}
