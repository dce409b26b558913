/**
 * A local `redis-server` process on a free loopback port, for tests: no
 * persistence, its own scratch directory, and a PING before it is handed out.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long a started redis-server has to answer its first PING. */
const START_TIMEOUT_MS = 10_000;

/** Whether `name` is a command on the PATH. */
export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', name], { stdio: 'ignore' }).status === 0;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A local redis-server process that a test may kill and start again on the same port. */
export class RedisServer {
  #proc: ChildProcess | undefined;
  readonly #dir: string;

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {
    this.#dir = mkdtempSync(join(tmpdir(), 'simple-gossip-redis-'));
  }

  /** Starts one (on a free port unless given), resolving once it answers. */
  static async start(options: { port?: number; args?: readonly string[] } = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options.args ?? []);
    try {
      await server.restart();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** Starts it (again) on the same port, empty unless the args persist. */
  async restart(): Promise<void> {
    if (this.#proc) return;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, ...this.extraArgs];
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    this.#proc = proc;
    // A failed spawn (no such binary) is reported here, not as an unhandled 'error' event.
    let spawnError: Error | undefined;
    proc.once('error', (err) => void (spawnError = err));
    proc.once('exit', () => {
      if (this.#proc === proc) this.#proc = undefined;
    });
    await waitForPing(this.url, proc, () => spawnError);
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) {
      this.#proc = undefined;
      return;
    }
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  /** Kills it and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Waits until the server answers a PING (any answer, NOAUTH included, means it is up). */
async function waitForPing(url: string, proc: ChildProcess, spawnError: () => Error | undefined): Promise<void> {
  const { port } = new URL(url);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const failed = spawnError();
    if (failed) throw new Error(`could not start redis-server: ${failed.message}`, { cause: failed });
    if (proc.exitCode !== null) throw new Error(`redis-server exited with code ${proc.exitCode}`);
    if (await answersPing(Number(port))) return;
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(/^[+-]/.test(chunk.toString())));
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}
