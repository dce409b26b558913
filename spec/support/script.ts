/**
 * Runs user-facing scripts (the README's recipes) the way a user does: as
 * `node script.mjs` in a scratch project where `simple-gossip` is this
 * package's build (node_modules/simple-gossip links to the work tree).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The ```js and ```ts blocks of a README section whose first line names the file (`// <name>.mjs`, `// <name>.mts …`), by name. */
export function scriptsOf(section: string): Map<string, string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`README has no section "## ${section}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const body = readme.slice(start, end < 0 ? undefined : end);
  const scripts = new Map<string, string>();
  for (const [, code] of body.matchAll(/```(?:js|ts)\n([\s\S]*?)```/g)) {
    const name = /^\/\/ ([\w.-]+\.m[jt]s)(?:\n| — )/.exec(code!)?.[1];
    if (name) scripts.set(name, code!);
  }
  return scripts;
}

/** A scratch directory that imports `simple-gossip` from this work tree's dist/. */
export function scratchProject(): { dir: string; write(name: string, text: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'simple-gossip-scripts-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'simple-gossip'), 'dir');
  return {
    dir,
    write(name, text) {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `node <file>` in `cwd`, with its stdout read line by line. */
export class Script {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #proc: ChildProcess;
  #stderr = '';

  constructor(file: string, cwd: string, env: Record<string, string>) {
    const { NODE_OPTIONS: _n, REDIS_URL: _r, ...rest } = process.env;
    this.#proc = spawn(process.execPath, [file], { cwd, env: { ...rest, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc.stderr!.setEncoding('utf8').on('data', (c: string) => (this.#stderr = (this.#stderr + c).slice(-4_000)));
    createInterface({ input: this.#proc.stdout!, crlfDelay: Infinity }).on('line', (l) => this.lines.push(l));
    this.exited = new Promise((resolve) => this.#proc.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.#proc.pid!;
  }

  /** The last 4,000 characters it wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Resolves with the first line (from `from` on) that matches. */
  async waitFor(pattern: RegExp, { from = 0, timeoutMs = 10_000 } = {}): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => pattern.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.lines)}; stderr: ${this.#stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  count(pattern: RegExp): number {
    return this.lines.filter((l) => pattern.test(l)).length;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill(signal);
  }
}
