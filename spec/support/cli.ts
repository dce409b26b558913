/**
 * Runs the real, built CLI (`node dist/cli/main.js`) as a child process, the
 * way a user or a script does. Async only: the cluster under test lives in
 * the test process and must keep answering while the CLI waits.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A clean environment: no REDIS_URL, secret or NODE_OPTIONS leaking in from the test run. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { REDIS_URL: _u, SIMPLE_GOSSIP_SECRET: _s, NODE_OPTIONS: _n, ...rest } = process.env;
  return { ...rest, ...extra };
}

/**
 * `npm run build`, unless dist/ was built (by this helper) after the last
 * change to lib/ or the build's config. Test files that need the binary call
 * it in beforeAll; those that run at the same time build it once between
 * them (a lock directory). Rejects with the compiler's output.
 */
export async function buildCli(): Promise<void> {
  const release = await lock(join(CACHE, 'cli-build.lock'));
  try {
    const stamp = join(CACHE, 'cli-build.stamp');
    if (builtAfter(stamp)) return;
    const startedAt = Date.now();
    await npmRunBuild();
    writeFileSync(stamp, String(startedAt));
  } finally {
    release();
  }
}

const CACHE = join(ROOT, 'node_modules', '.cache', 'simple-gossip');

/** Whether `stamp` records a build that started after every input of the build last changed, and dist/ is still there. */
function builtAfter(stamp: string): boolean {
  let startedAt: number;
  try {
    startedAt = Number(readFileSync(stamp, 'utf8'));
    statSync(CLI);
  } catch {
    return false;
  }
  const inputs = [
    ...readdirSync(join(ROOT, 'lib'), { recursive: true, encoding: 'utf8' }).map((f) => join(ROOT, 'lib', f)),
    ...['package.json', 'tsconfig.json', 'tsconfig.build.json'].map((f) => join(ROOT, f)),
  ];
  return inputs.every((f) => statSync(f).mtimeMs < startedAt);
}

/** Takes a lock held across processes (mkdir is atomic); resolves with its release. A holder that died leaves no lock behind. */
async function lock(dir: string, timeoutMs = 180_000): Promise<() => void> {
  mkdirSync(join(dir, '..'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (holderDied(dir)) rmSync(dir, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`${dir} still held after ${timeoutMs} ms`);
    else await new Promise((r) => setTimeout(r, 100));
  }
}

function holderDied(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  } catch {
    // Just made, its pid not written yet; or left without one long ago.
    try {
      return Date.now() - statSync(dir).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function npmRunBuild(): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: env() });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    proc.once('error', reject);
    proc.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited with ${code}:\n${output}`))));
  });
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Record<string, string>;
  /** What the CLI reads on stdin. */
  readonly input?: string;
  /** Kill it (and fail) if it runs longer. @default 15000 */
  readonly timeoutMs?: number;
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: env(options.env) });
  proc.stdin.end(options.input ?? '');
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`simple-gossip ${args.join(' ')} ran over ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    proc.once('error', reject);
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A CLI that keeps running (`watch`): its stdout line by line, and how it ended. */
export class RunningCli {
  readonly exited: Promise<CliResult>;
  readonly #proc: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  #stderr = '';
  #closed = false;

  constructor(args: readonly string[], options: Omit<RunOptions, 'input' | 'timeoutMs'> = {}) {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: env(options.env) });
    this.#proc = proc;
    proc.stderr.on('data', (c: Buffer) => (this.#stderr += c.toString()));
    createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', (line) => {
      this.#lines.push(line);
      for (const w of this.#waiters) w();
    });
    this.exited = new Promise((resolve) => {
      proc.once('close', (code, signal) => {
        this.#closed = true;
        resolve({ code, signal, stdout: this.#lines.join('\n'), stderr: this.#stderr });
        for (const w of this.#waiters) w();
      });
    });
  }

  /** The lines printed so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Waits until `count` lines have been printed; resolves with them. */
  async waitForLines(count: number, timeoutMs = 10_000): Promise<readonly string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length < count) {
      if (this.#closed) {
        throw new Error(`the CLI exited after ${this.#lines.length} of ${count} lines; stderr: ${this.#stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${count} lines not printed within ${timeoutMs} ms (got ${JSON.stringify(this.#lines)}); stderr: ${this.#stderr}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
    return this.#lines.slice(0, count);
  }

  /** Sends `signal` (if it still runs). */
  kill(signal: NodeJS.Signals): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill(signal);
  }
}
