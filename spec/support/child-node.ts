/**
 * A Gossip node in a child process, so tests can kill it for real (SIGKILL,
 * SIGSTOP/SIGCONT) instead of stopping it politely. Free of vitest, so
 * scripts and benchmarks can use it too; tests use child.ts.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Command, FailedLine, NodeProcessOptions, Response } from './node-process.js';

export type { Command, NodeProcessOptions, WriteAck } from './node-process.js';

const SCRIPT = fileURLToPath(new URL('./node-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface SpawnOptions extends NodeProcessOptions {
  /** How long to wait for the 'ready' line. @default 15000 */
  readonly readyTimeoutMs?: number;
  /** How long a call waits for its answer before it rejects. @default 15000 */
  readonly callTimeoutMs?: number;
  /** Another script that speaks the same line protocol (benchmarks use one). @default node-process.ts */
  readonly script?: string;
}

/** A command the child answered with an error (or could not answer). */
export class ChildCallError extends Error {
  override readonly name = 'ChildCallError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The child could not start its node; `code` is the node's error code (e.g. 'node_id_in_use'). */
export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';
  constructor(
    readonly code: string,
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One Gossip node running in its own `node --import tsx` process. */
export class ChildNode {
  /** Resolves once the process has exited, however it went. */
  readonly exited: Promise<Exit>;
  readonly #proc: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(line: { readonly event: string } & Record<string, unknown>) => void>();
  readonly #callTimeoutMs: number;
  #seq = 0;
  #exit: Exit | undefined;
  #stderr = '';

  private constructor(
    readonly id: string,
    proc: ChildProcess,
    callTimeoutMs: number,
  ) {
    this.#proc = proc;
    this.#callTimeoutMs = callTimeoutMs;
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        for (const [, p] of this.#pending) {
          clearTimeout(p.timer);
          p.reject(new ChildCallError('child_exited', `child ${this.id} exited (${signal ?? code}) before answering`));
        }
        this.#pending.clear();
        resolve(this.#exit);
      });
    });
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-8_000);
      if (process.env.SG_CHILD_STDERR) process.stderr.write(`[${id}] ${chunk}`);
    });
    // Writing to a child that just died must not crash the test process.
    proc.stdin!.on('error', () => undefined);
  }

  /** Starts a node process; resolves once it reports that its node is running. */
  static spawn(opts: SpawnOptions): Promise<ChildNode> {
    const { readyTimeoutMs = 15_000, callTimeoutMs = 15_000, script = SCRIPT, ...nodeOptions } = opts;
    // SG_CHILD_ARGS: extra node flags for every child, e.g. "--cpu-prof --cpu-prof-dir=/tmp/profiles".
    const proc = spawn(process.execPath, [...(process.env.SG_CHILD_ARGS ? process.env.SG_CHILD_ARGS.split(' ') : []), '--import', 'tsx', script, JSON.stringify(nodeOptions)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const child = new ChildNode(opts.nodeId, proc, callTimeoutMs);
    return new Promise((resolve, reject) => {
      let failed: FailedLine['error'] | undefined;
      const fail = (why: string) => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        const message = `child ${opts.nodeId} ${why}${child.#stderr ? `\n--- its stderr ---\n${child.#stderr}` : ''}`;
        reject(failed ? new ChildStartError(failed.code, message, child.#stderr) : new Error(message));
      };
      const timer = setTimeout(() => fail(`was not ready within ${readyTimeoutMs} ms`), readyTimeoutMs);
      const lines = createInterface({ input: proc.stdout, crlfDelay: Infinity });
      // 'exit' can come before the last stdout lines: read them first, for the reason it failed.
      const drained = new Promise<void>((done) => lines.once('close', done));
      void child.exited.then(async (e) => {
        await Promise.race([drained, new Promise((r) => setTimeout(r, 1_000))]);
        fail(failed ? `could not start: ${failed.code}: ${failed.message}` : `exited (${e.signal ?? e.code}) before it was ready`);
      });
      lines.on('line', (line) => {
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          return;
        }
        if ((msg as { event?: unknown }).event === 'ready') {
          clearTimeout(timer);
          resolve(child);
          return;
        }
        if ((msg as { event?: unknown }).event === 'failed') {
          failed = (msg as FailedLine).error;
          return;
        }
        if (typeof (msg as { event?: unknown }).event === 'string') {
          for (const l of child.#listeners) l(msg as { event: string });
          return;
        }
        child.#settle(msg as Response);
      });
    });
  }

  get pid(): number | undefined {
    return this.#proc.pid;
  }

  /** How the process ended, once it has. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** The tail of what the child wrote to stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Sends a command; resolves with its value, rejects with a {@link ChildCallError}. */
  call<V = unknown>(cmd: Command, ...args: unknown[]): Promise<V> {
    if (this.#exit) return Promise.reject(new ChildCallError('child_exited', `child ${this.id} has exited`));
    const id = ++this.#seq;
    return new Promise<V>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ChildCallError('call_timeout', `child ${this.id} did not answer ${cmd} within ${this.#callTimeoutMs} ms`));
      }, this.#callTimeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.#proc.stdin!.write(`${JSON.stringify({ id, cmd, args })}\n`);
    });
  }

  /** Calls `listener` with every event line after 'ready' (e.g. 'data' lines while `watch` is on); returns its removal. */
  onEvent(listener: (line: { readonly event: string } & Record<string, unknown>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends a real signal to the process; false when it has already exited. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): boolean {
    if (this.#exit) return false;
    return this.#proc.kill(signal);
  }

  #settle(res: Response): void {
    const p = this.#pending.get(res.id);
    if (!p) return;
    this.#pending.delete(res.id);
    clearTimeout(p.timer);
    if (res.ok) p.resolve(res.value);
    else p.reject(new ChildCallError(res.error.code, `${this.id}: ${res.error.message}`));
  }
}
