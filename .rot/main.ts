import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
const N = Number(process.argv[2] ?? 10); const RUNS = Number(process.argv[3] ?? 400);
const url = 'redis://127.0.0.1:6379';
type S = { sent?: bigint; done?: bigint; arr: bigint[]; res: () => void };
let cur: S | undefined; let curSeq = '';
const kids = await Promise.all(Array.from({ length: N }, (_, i) => new Promise<any>((resolve) => {
  const p = spawn('node', ['--import', 'tsx', '/work/main/.rot/child.ts', url, String(i + 1), String(N)], { stdio: ['pipe', 'pipe', 'inherit'] });
  createInterface({ input: p.stdout! }).on('line', (l) => {
    if (l === 'ready') return resolve(p);
    const [k, s, a, b] = l.split(' ');
    if (!cur || s !== curSeq) return;
    if (k === 'w') { cur.sent = BigInt(a!); cur.done = BigInt(b!); } else cur.arr.push(BigInt(a!));
    if (cur.sent !== undefined && cur.arr.length === N) cur.res();
  });
})));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
async function run(mode: string) {
  const conv: number[] = [], ans: number[] = [];
  for (let i = 0; i < 50 + RUNS; i++) {
    const w = mode === 'fixed' ? 0 : i % N;
    seq++; curSeq = String(seq);
    await new Promise<void>((res) => { cur = { arr: [], res }; kids[w].stdin.write(`${seq}\n`); });
    const c = cur!;
    let last = c.done!; for (const a of c.arr) if (a > last) last = a;
    if (i >= 50) { conv.push(Number(last - c.sent!) / 1e6); ans.push(Number(c.done! - c.sent!) / 1e6); }
    await sleep(2);
  }
  const med = (x: number[]) => x.sort((a, b) => a - b)[x.length >> 1]!.toFixed(3);
  console.log(N, mode, 'conv p50', med(conv), 'answer p50', med(ans));
}
for (let r = 0; r < 2; r++) { await run('fixed'); await run('rotating'); }
for (const k of kids) k.stdin.end();
