import { Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { GossipOptions } from '../../lib/index.js';
import type { Commands } from '../../lib/transport/connection.js';
import { findRedis, RedisClusterServers } from '../../tools/redis-server.js';
import type { RedisHandle } from '../../tools/redis-server.js';
import { Redis } from 'ioredis';

/** Where a suite's nodes meet: one Redis, or a Redis Cluster (sharded pub/sub). */
export interface Backend {
  readonly name: 'standalone' | 'cluster';
  /** What to pass as `redis` to Gossip.start / Observer.connect. */
  connection(): NonNullable<GossipOptions['redis']>;
  /** A client of the test's own, for looking at keys. */
  probe(): Commands;
  /** Redis URLs: the standalone server's, or every master's (startup nodes, for the CLI's `--cluster`). */
  urls(): string[];
  /** Publishes a raw message the way the nodes listen: PUBLISH, or SPUBLISH on a Redis Cluster. */
  publish(channel: string, message: string): Promise<number>;
}

/**
 * Gives the calling test file a backend for all its tests: a standalone
 * Redis (REDIS_URL, a throwaway redis-server, or a container), or a local
 * 3-master Redis Cluster started from redis-server binaries.
 */
export function useBackend(name: Backend['name']): Backend {
  let standalone: RedisHandle | undefined;
  let servers: RedisClusterServers | undefined;
  let client: Commands | undefined;
  beforeAll(async () => {
    if (name === 'standalone') {
      standalone = await findRedis();
      client = new Redis(standalone.url);
    } else {
      servers = await RedisClusterServers.start(3);
      client = new Cluster(servers.nodes);
    }
  }, 60_000);
  afterAll(async () => {
    await client?.quit();
    await standalone?.stop();
    await servers?.stop();
  });
  const ready = <X>(x: X | undefined): X => {
    if (x === undefined) throw new Error(`the ${name} backend is not started yet`);
    return x;
  };
  return {
    name,
    // The nodes duplicate the client they are given and never close it.
    connection: () => (name === 'standalone' ? ready(standalone).url : ready(client)),
    probe: () => ready(client),
    urls: () => (name === 'standalone' ? [ready(standalone).url] : ready(servers).nodes.map((n) => `redis://${n.host}:${n.port}`)),
    publish: (channel, message) => {
      const c = ready(client);
      return (c instanceof Cluster ? c.spublish(channel, message) : c.publish(channel, message)) as Promise<number>;
    },
  };
}
