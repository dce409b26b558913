import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { findRedis, RedisServer } from '../../tools/redis-server.js';
import type { RedisHandle } from '../../tools/redis-server.js';

export { RedisServer };

/**
 * Gives the calling test file its own Redis (REDIS_URL, else a throwaway
 * redis-server, else a container) for all its tests; returns a getter for
 * its URL.
 */
export function useRedis(): () => string {
  let handle: RedisHandle | undefined;
  beforeAll(async () => {
    handle = await findRedis();
  }, 60_000);
  afterAll(async () => {
    await handle?.stop();
  });
  return () => {
    if (!handle) throw new Error('useRedis(): the Redis is not started yet');
    return handle.url;
  };
}

/** A fresh namespace per test, so tests never see each other's nodes. */
export function freshNamespace(label = 'test'): string {
  return `sg-${label}-${randomBytes(4).toString('hex')}`;
}

/** Plain ioredis clients for one test (probes, taps, raw publishers), closed after it. */
export function useClients(url: () => string): () => Redis {
  let clients: Redis[] = [];
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    clients = [];
  });
  return () => {
    const c = new Redis(url());
    clients.push(c);
    return c;
  };
}

/**
 * A redis-server of the calling test file's own, for files that kill,
 * restart or configure their Redis; returns a getter for it.
 */
export function useOwnRedisServer(args: readonly string[] = []): () => RedisServer {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await RedisServer.start({ args });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('useOwnRedisServer(): the server is not started yet');
    return server;
  };
}
