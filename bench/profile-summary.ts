/**
 * Prints where a V8 CPU profile spent its time: self time by package or
 * file, self time by function, and inclusive time by function.
 *   tsx bench/profile-summary.ts <file.cpuprofile | directory (its newest profile)> [rows=25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

function newest(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ f: join(path, f), st: statSync(join(path, f)) }));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`);
  // Of the last run's profiles, the main thread's is the largest (the module loader thread writes a small one too).
  const latest = Math.max(...files.map((x) => x.st.mtimeMs));
  return files.filter((x) => x.st.mtimeMs >= latest - 5_000).sort((a, b) => b.st.size - a.st.size)[0]!.f;
}

const short = (url: string) =>
  url
    .replace(/^.*node_modules\//, '')
    .replace(/^.*\/(lib|bench|spec|tools)\//, '$1/')
    .replace(/^file:\/\//, '');
const label = (f: CallFrame) => `${f.functionName || '(anonymous)'}  ${short(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
const home = (f: CallFrame) =>
  f.url ? short(f.url).replace(/^((@[^/]+\/)?[^/]+)\/.*$/, (m, pkg: string) => (m.startsWith('lib/') || m.startsWith('bench/') ? m : pkg)) : `(${f.functionName || 'native'})`;

/** The summary of one profile (or a directory's newest), as printable lines. */
export function summarizeProfile(path: string, rows = 25): string {
  const file = newest(path);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const parent = new Map<number, number>();
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
  const hits = new Map<number, number>();
  for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);

  const selfByFn = new Map<string, number>();
  const selfByHome = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, c: number) => m.set(k, (m.get(k) ?? 0) + c);
  for (const [id, c] of hits) {
    const frame = byId.get(id)!.callFrame;
    add(selfByFn, label(frame), c);
    add(selfByHome, home(frame), c);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!.callFrame);
      if (!seen.has(l)) add(inclusive, l, c);
      seen.add(l);
    }
  }
  const total = p.samples.length;
  const out: string[] = [`${file}: ${total} samples over ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s`];
  const print = (title: string, m: Map<string, number>, k: number) => {
    out.push('', title);
    for (const [l, c] of [...m].sort((a, b) => b[1] - a[1]).slice(0, k)) out.push(`${((100 * c) / total).toFixed(1).padStart(6)}%  ${l}`);
  };
  print('self time by package / file', selfByHome, 15);
  print('self time by function', selfByFn, rows);
  print('inclusive time by function', inclusive, rows + 15);
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(summarizeProfile(process.argv[2] ?? 'bench/results/profiles', Number(process.argv[3] ?? 25)));
}
