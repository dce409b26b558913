/**
 * Reads: get(), getCfg() hit and miss, against Map.get (and a plain property
 * read) in the same run. Each case is its own loop, so V8 optimises each one
 * alone; every round is sized to last about `roundMs`, after a warm-up; the
 * figure is the median round's ns/op, loop overhead included for all alike.
 */
import { randomBytes } from 'node:crypto';
import { Gossip } from '../lib/index.js';
import type { Ctx, ReadRow } from './results.js';
import { median } from './stats.js';

const KEYS = Array.from({ length: 16 }, (_, i) => `key${i}`);
const MISSING = Array.from({ length: 16 }, (_, i) => `absent${i}`);
type Cfg = Record<string, number>;

let sink = 0;

function loopMapHit(map: Map<string, number>, iters: number): void {
  let s = 0;
  for (let i = 0; i < iters; i++) s += map.get(KEYS[i & 15]!) ?? 0;
  sink += s;
}
function loopMapMiss(map: Map<string, number>, iters: number): void {
  let s = 0;
  for (let i = 0; i < iters; i++) s += map.get(MISSING[i & 15]!) ?? 1;
  sink += s;
}
function loopProp(obj: Cfg, iters: number): void {
  let s = 0;
  for (let i = 0; i < iters; i++) s += obj[KEYS[i & 15]!] ?? 0;
  sink += s;
}
function loopGet(node: Gossip<Cfg>, iters: number): void {
  let s = 0;
  for (let i = 0; i < iters; i++) s += node.get()?.key3 ?? 0;
  sink += s;
}
function loopCfgHit(node: Gossip<Cfg>, iters: number): void {
  let s = 0;
  for (let i = 0; i < iters; i++) s += node.getCfg(KEYS[i & 15]!, 0);
  sink += s;
}
function loopCfgMiss(node: Gossip<Cfg>, iters: number): void {
  let s = 0;
  for (let i = 0; i < iters; i++) s += node.getCfg(MISSING[i & 15]!, 1);
  sink += s;
}

/** ns/op of the median round, each round sized to about `roundMs`. */
function measure(run: (iters: number) => void, rounds: number, roundMs: number): number {
  let iters = 100_000;
  // Warm-up and sizing: grow until one round lasts at least roundMs / 4.
  for (;;) {
    const t0 = process.hrtime.bigint();
    run(iters);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= roundMs / 4) {
      iters = Math.max(iters, Math.round((iters * roundMs) / ms));
      break;
    }
    iters *= 4;
  }
  run(iters);
  const perOp: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    run(iters);
    perOp.push(Number(process.hrtime.bigint() - t0) / iters);
  }
  return median(perOp);
}

export async function reads(ctx: Ctx): Promise<void> {
  const { readRounds: rounds, readRoundMs: roundMs } = ctx.plan;
  const cfg: Cfg = Object.fromEntries(KEYS.map((k, i) => [k, i + 1]));
  const map = new Map(Object.entries(cfg));
  const obj = Object.freeze({ ...cfg });
  const node = await Gossip.start<Cfg>({ redis: ctx.redisUrl, namespace: `bench-reads-${randomBytes(4).toString('hex')}`, nodeId: 'reader' });
  try {
    await node.set(cfg);
    const cases: Array<[string, (iters: number) => void]> = [
      ['Map.get, hit', (k) => loopMapHit(map, k)],
      ['Map.get, miss', (k) => loopMapMiss(map, k)],
      ['frozen object[key], hit', (k) => loopProp(obj, k)],
      ['get()', (k) => loopGet(node, k)],
      ['getCfg(key), hit', (k) => loopCfgHit(node, k)],
      ['getCfg(key), miss', (k) => loopCfgMiss(node, k)],
    ];
    const measured: Array<[string, number]> = [];
    for (const [name, run] of cases) {
      ctx.log(`reads: ${name}`);
      measured.push([name, measure(run, rounds, roundMs)]);
    }
    const base = measured[0]![1];
    const rows: ReadRow[] = measured.map(([name, ns]) => ({ name, nsPerOp: ns, ratioToMapGet: ns / base }));
    ctx.results.reads = { rounds, roundMs, rows };
    if (sink === 42) ctx.log('');
  } finally {
    await node.stop();
  }
}
