import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurabilityError, Gossip } from '../../lib/index.js';
import { Keys } from '../../lib/transport/keys.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace } from '../support/redis.js';
import { RedisServer } from '../../tools/redis-server.js';

// A primary and a replica of this file's own.
let primary: RedisServer;
let replica: RedisServer;
beforeAll(async () => {
  primary = await RedisServer.start();
  replica = await RedisServer.start();
  const r = new Redis(replica.url);
  await r.call('REPLICAOF', '127.0.0.1', String(primary.port));
  await eventually(async () => /master_link_status:up/.test(await r.info('replication')), 10_000, 'the replica in sync');
  await r.quit();
}, 30_000);
afterAll(async () => {
  await replica?.stop();
  await primary?.stop();
});

const durability = { replicas: 1, timeoutMs: 500 };

describe('durability: commits wait for replicas', () => {
  it('with the replica up, a write resolves once the replica holds it', async () => {
    const namespace = freshNamespace('durable');
    const a = await Gossip.start({ redis: primary.url, namespace, nodeId: 'a', durability });
    const r = new Redis(replica.url);
    try {
      await a.setCfg('limit', 10);
      // WAIT answered: the replica already has the key, with no wait here.
      const keys = new Keys(namespace, true);
      expect(await r.hget(keys.cluster(a.rumor.cluster), 'k:limit')).toMatch(/:=10$/);
    } finally {
      await a.stop();
      await r.quit();
    }
  });

  it('with the replica gone, a write rejects with DurabilityError after timeoutMs, and says what is true: it is applied', async () => {
    const namespace = freshNamespace('durable');
    const a = await Gossip.start({ redis: primary.url, namespace, nodeId: 'a', durability });
    const b = await Gossip.start({ redis: primary.url, namespace, nodeId: 'b' });
    await a.join('b');
    await replica.stop();
    try {
      const write = a.setCfg('limit', 11);
      await expect(write).rejects.toBeInstanceOf(DurabilityError);
      await expect(write).rejects.toMatchObject({ code: 'durability_timeout', replicas: 0, wanted: 1 });
      // Applied on the primary: the writer holds it, and so does the other member.
      expect(a.getCfg('limit')).toBe(11);
      await eventually(() => b.getCfg('limit') === 11, 5_000);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
