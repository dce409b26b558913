/**
 * Finds a Redis to run against, the same way for the tests, the demo and the
 * benchmarks: REDIS_URL when set; else the throwaway Redis of
 * `simple-gossip/testing` (a `redis-server` on a free port when the binary
 * exists, else a container through testcontainers, which needs Docker).
 */
import { spawnSync } from 'node:child_process';
import { startRedis } from '../lib/testing.js';
import { freePort, hasBinary, RedisServer } from '../lib/testing/redis-server.js';

export { freePort, hasBinary, RedisServer };

export interface RedisHandle {
  readonly url: string;
  /** How it was found: 'env', 'binary' or 'container'. */
  readonly source: 'env' | 'binary' | 'container';
  stop(): Promise<void>;
}

export const HOW_TO_GET_REDIS = 'No Redis found: set REDIS_URL, install redis-server (apt-get install redis-server), or start Docker for a container.';

export async function findRedis(options: { own?: boolean } = {}): Promise<RedisHandle> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv && !options.own) return { url: fromEnv, source: 'env', stop: async () => {} };
  try {
    return await startRedis();
  } catch (err) {
    throw new Error(`${HOW_TO_GET_REDIS} (${(err as Error).message.split('\n')[0]})`, { cause: err });
  }
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
        servers.push(
          await RedisServer.start({
            port,
            args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
          }),
        );
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
