/**
 * Finds a Redis to run against, the same way for the tests, the demo and the
 * benchmarks: REDIS_URL when set; else a throwaway `redis-server` on a free
 * port when the binary exists; else a Redis container through
 * testcontainers (needs Docker).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisHandle {
  readonly url: string;
  /** How it was found: 'env', 'binary' or 'container'. */
  readonly source: 'env' | 'binary' | 'container';
  stop(): Promise<void>;
}

export const HOW_TO_GET_REDIS =
  'No Redis found: set REDIS_URL, install redis-server (apt-get install redis-server), or start Docker for a container.';

export async function findRedis(options: { own?: boolean } = {}): Promise<RedisHandle> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv && !options.own) return { url: fromEnv, source: 'env', stop: async () => {} };
  if (hasBinary('redis-server')) {
    const server = await RedisServer.start();
    return { url: server.url, source: 'binary', stop: () => server.stop() };
  }
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
    return { url, source: 'container', stop: async () => void (await container.stop()) };
  } catch (err) {
    throw new Error(`${HOW_TO_GET_REDIS} (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
}

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

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

  private constructor(readonly port: number, private readonly extraArgs: readonly string[]) {
    this.#dir = mkdtempSync(join(tmpdir(), 'simple-gossip-redis-'));
  }

  static async start(options: { port?: number; args?: readonly string[] } = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options.args ?? []);
    await server.restart();
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
    proc.once('exit', () => {
      if (this.#proc === proc) this.#proc = undefined;
    });
    await waitForPing(this.url, proc);
  }

  /** SIGKILL, and wait until the port is closed. */
  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Waits until the server answers a PING (any answer, NOAUTH included, means it is up). */
async function waitForPing(url: string, proc: ChildProcess): Promise<void> {
  const { port } = new URL(url);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with code ${proc.exitCode}`);
    if (await answersPing(Number(port))) return;
    if (Date.now() > deadline) throw new Error(`redis-server at ${url} did not answer within 10 s`);
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

/**
 * A local Redis Cluster of `masters` redis-server processes (no replicas),
 * created with `redis-cli --cluster create`, for tests of cluster mode.
 */
export class RedisClusterServers {
  private constructor(readonly servers: readonly RedisServer[]) {}

  static async start(masters = 3): Promise<RedisClusterServers> {
    const servers: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) {
        const port = await freePort();
        servers.push(await RedisServer.start({
          port,
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
        }));
      }
      const create = spawnSync('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
      const cluster = new RedisClusterServers(servers);
      await cluster.#waitUntilOk();
      return cluster;
    } catch (err) {
      await Promise.all(servers.map((s) => s.stop()));
      throw err;
    }
  }

  /** The startup nodes to give an ioredis Cluster. */
  get nodes(): Array<{ host: string; port: number }> {
    return this.servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  async #waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = this.servers.every((s) => {
        const info = spawnSync('redis-cli', ['-p', String(s.port), 'cluster', 'info'], { encoding: 'utf8' });
        return /cluster_state:ok/.test(info.stdout);
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
