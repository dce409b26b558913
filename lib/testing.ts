/**
 * A throwaway Redis for your own tests, as simple-gossip's tests use: the
 * local `redis-server` on a free loopback port when it is installed, else a
 * Redis container through testcontainers (an optional peer dependency; needs
 * Docker).
 *
 * ```ts
 * import { startRedis } from 'simple-gossip/testing';
 * const redis = await startRedis();
 * const node = await Gossip.start({ redis: redis.url, nodeId: 'test-a' });
 * // …
 * await node.stop();
 * await redis.stop();
 * ```
 * @module simple-gossip/testing
 */
import { hasBinary, RedisServer } from './testing/redis-server.js';

/** A Redis started by {@link startRedis}. */
export interface TestRedis {
  /** Where it listens, e.g. `redis://127.0.0.1:41234`: give it as the `redis` option. */
  readonly url: string;
  /** What runs it: the local `redis-server` binary, or a testcontainers container. */
  readonly source: 'binary' | 'container';
  /** Kills it (its data goes with it); idempotent. */
  stop(): Promise<void>;
  /** {@link stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Extra `redis-server` arguments, e.g. `['--requirepass', 'secret']`. @default none */
  readonly args?: readonly string[];
  /** The image when it runs in a container. @default 'redis:7-alpine' */
  readonly image?: string;
}

const DEFAULT_IMAGE = 'redis:7-alpine';

/**
 * Starts an empty Redis of its own and resolves once it answers: the local
 * `redis-server` (on 127.0.0.1, a free port, nothing persisted) when it is
 * on the PATH, else a container through testcontainers. Rejects, saying
 * what to install, when neither can run.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const args = options.args ?? [];
  if (hasBinary('redis-server')) {
    const server = await RedisServer.start({ args });
    return handle(server.url, 'binary', () => server.stop());
  }
  return startContainer(options.image ?? DEFAULT_IMAGE, args);
}

async function startContainer(image: string, args: readonly string[]): Promise<TestRedis> {
  let testcontainers: typeof import('testcontainers');
  try {
    testcontainers = await import('testcontainers');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    throw new Error(
      missing
        ? 'startRedis(): no redis-server on the PATH, and testcontainers is not installed: install Redis (apt-get install redis-server, brew install redis) or `npm install -D testcontainers` (with Docker running)'
        : `startRedis(): no redis-server on the PATH, and testcontainers could not be loaded: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    let container = new testcontainers.GenericContainer(image).withExposedPorts(6379);
    if (args.length > 0) container = container.withCommand(['redis-server', ...args]);
    const started = await container.start();
    return handle(`redis://${started.getHost()}:${started.getMappedPort(6379)}`, 'container', async () => void (await started.stop()));
  } catch (err) {
    throw new Error(`startRedis(): no redis-server on the PATH, and testcontainers could not start ${image}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

function handle(url: string, source: TestRedis['source'], kill: () => Promise<void>): TestRedis {
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= kill());
  return { url, source, stop, [Symbol.asyncDispose]: stop };
}
