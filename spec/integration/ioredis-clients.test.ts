import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Cluster as Cluster6, Redis as Redis6 } from 'ioredis';
import { Cluster as Cluster5, Redis as Redis5 } from 'ioredis5';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, Observer } from '../../lib/index.js';
import { eventually, useNodes } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';
import { RedisClusterServers } from '../../tools/redis-server.js';

/**
 * ioredis is a peer dependency (>= 5): a service passes the clients of its
 * own ioredis — 5, as BullMQ uses, or 6 — and simple-gossip duplicates them.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ioredis5Version = (await import('ioredis5/package.json', { with: { type: 'json' } })).default.version;

/** Clients of the test's own, closed after it; the nodes must leave them open and unused. */
function useOwnClients() {
  let clients: Array<Redis5 | Redis6 | Cluster5 | Cluster6> = [];
  afterEach(async () => {
    await Promise.allSettled(clients.map((c) => c.quit()));
    clients = [];
  });
  return <C extends Redis5 | Redis6 | Cluster5 | Cluster6>(client: C): C => {
    clients.push(client);
    return client;
  };
}

describe('clients of ioredis 5 and 6 passed in, on one Redis', () => {
  const redis = useRedis();
  const { start } = useNodes(() => redis(), {});
  const own = useOwnClients();

  it('the test runs an ioredis 5 next to the ioredis 6 of the dev dependencies', () => {
    expect(ioredis5Version).toMatch(/^5\./);
    expect(new Redis5({ lazyConnect: true })).not.toBeInstanceOf(Redis6);
  });

  it('a node on an ioredis 5 client and a node on an ioredis 6 client join, and a write on either is read on the other', async () => {
    const client5 = own(new Redis5(redis()));
    const client6 = own(new Redis6(redis()));
    const a = await start('on-ioredis-5', { redis: client5 });
    const b = await start('on-ioredis-6', { redis: client6 });
    await a.join(b.id);
    await a.setSync({ from: 'ioredis 5' });
    expect(b.get()).toEqual({ from: 'ioredis 5' });
    await b.setCfgSync('limit', 100);
    expect(a.getCfg('limit')).toBe(100);
    expect(a.version).toBe(b.version);
  });

  it('the client passed in is duplicated, left open and never subscribed', async () => {
    const client5 = own(new Redis5(redis(), { connectionName: 'callers-own' }));
    const node = await start('dup-5', { redis: client5 });
    await node.set('x');
    // Still a plain client of the caller's: commands work, no subscription took it over.
    expect(client5.status).toBe('ready');
    expect(await client5.ping()).toBe('PONG');
    const list = (await client5.client('LIST')) as string;
    const named = list.split('\n').filter((line) => line.includes('name=callers-own'));
    // The caller's connection and the node's two duplicates (they keep its options, its name too); one of them subscribes.
    expect(named).toHaveLength(3);
    expect(named.filter((line) => / sub=[1-9]/.test(line))).toHaveLength(1);
    await node.stop();
    expect(client5.status).toBe('ready');
  });

  it('an observer connects through an ioredis 5 client, reads the state and asks the member its version', async () => {
    const node = await start('seen-by-5');
    await node.setCfg('k', 'v');
    const observer = await Observer.connect({ redis: own(new Redis5(redis())), namespace: node.namespace });
    try {
      const { rumor, members } = await observer.members();
      expect(rumor?.data).toEqual({ k: 'v' });
      expect(members).toEqual([{ nodeId: 'seen-by-5', listening: true, version: node.version, leader: true }]);
    } finally {
      await observer.close();
    }
  });

  it("tsc takes either ioredis's Redis and Cluster for the redis option, and refuses what is not a client (spec/types/ioredis-clients.ts)", async () => {
    const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
    // Rejects with tsc's diagnostics (stdout) when a line does not compile, or an @ts-expect-error is not needed.
    await expect(promisify(execFile)(tsc, ['-p', 'spec/types/tsconfig.ioredis-clients.json'], { cwd: ROOT, timeout: 60_000 })).resolves.toBeDefined();
  }, 90_000);
});

describe('a Cluster client of ioredis 5 passed in, on a Redis Cluster (sharded pub/sub)', () => {
  let servers: RedisClusterServers | undefined;
  beforeAll(async () => {
    servers = await RedisClusterServers.start(3);
  }, 60_000);
  afterAll(async () => {
    await servers?.stop();
  });
  const nodes = () => {
    if (!servers) throw new Error('the Redis Cluster is not started yet');
    return servers.nodes;
  };
  const own = useOwnClients();
  // Every start below passes its own client.
  const { start } = useNodes(() => 'redis://127.0.0.1:1');

  it('a node on an ioredis 5 Cluster client and a node on an ioredis 6 one join, and a write on either is read on the other', async () => {
    const a = await start('c5-a', { redis: own(new Cluster5(nodes())) });
    const b = await start('c5-b', { redis: own(new Cluster6(nodes())) });
    await a.join(b.id);
    await a.setSync({ over: 'sharded channels' });
    expect(b.get()).toEqual({ over: 'sharded channels' });
    await b.setCfg('limit', 7);
    await eventually(() => a.getCfg('limit') === 7);
  });

  it('a Cluster client of an ioredis without sharded subscribers is refused at start, with what to do', async () => {
    const old = own(new Cluster5(nodes(), { lazyConnect: true }));
    // What an ioredis 5 before the option looks like: no 'shardedSubscribers' among its Cluster options.
    delete (old.options as { shardedSubscribers?: boolean }).shardedSubscribers;
    const err = await start('c5-old', { redis: old }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as Error).message).toMatch(/ioredis 5\.9 or later/);
  });
});
