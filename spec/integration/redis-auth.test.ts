import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gossip } from '../../lib/index.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, RedisServer } from '../support/redis.js';

// requirepass and ACLs need a server of our own.
let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await RedisServer.start({ args: ['--requirepass', 'admin-pw'] });
  admin = new Redis(server.url, { password: 'admin-pw' });
}, 30_000);
afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

/** The ACL line the README gives: the namespace's keys and channels, and the commands a node sends. */
function aclFor(namespace: string, user: string, password: string): string[] {
  return [
    'ACL', 'SETUSER', user, 'on', `>${password}`, 'resetkeys', `~${namespace}:*`, 'resetchannels', `&${namespace}:*`,
    '-@all', '+get', '+set', '+del', '+pexpire', '+pttl', '+publish', '+subscribe', '+unsubscribe', '+pubsub|numsub', '+pubsub|channels',
    '+eval', '+evalsha', '+script|load', '+ping', '+info', '+client|setname', '+quit',
  ];
}

describe('a Redis that asks for credentials', () => {
  it('works with requirepass', async () => {
    const namespace = freshNamespace('auth');
    const url = `redis://:admin-pw@127.0.0.1:${server.port}`;
    const a = await Gossip.start({ redis: url, namespace, nodeId: 'a' });
    const b = await Gossip.start({ redis: url, namespace, nodeId: 'b' });
    try {
      await a.join('b');
      await a.setSync('with a password');
      expect(b.get()).toBe('with a password');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('works with an ACL user limited to the namespace, which cannot touch anything else', async () => {
    const namespace = freshNamespace('acl');
    await admin.call(...(aclFor(namespace, 'gossip', 'node-pw') as [string, ...string[]]));
    const redis = { host: '127.0.0.1', port: server.port, username: 'gossip', password: 'node-pw' };
    const a = await Gossip.start({ redis, namespace, nodeId: 'a', join: 'auto', evictAfterMs: 5_000 });
    const b = await Gossip.start({ redis, namespace, nodeId: 'b', join: 'auto', evictAfterMs: 5_000 });
    try {
      await eventually(() => a.nodes.length === 2 && b.nodes.length === 2);
      await b.setSync({ acl: true });
      expect(a.get()).toEqual({ acl: true });
      expect((await a.status()).ok).toBe(true);
      const limited = new Redis({ ...redis, lazyConnect: true });
      await limited.connect();
      await expect(limited.set('elsewhere:key', '1')).rejects.toThrow(/NOPERM/);
      await expect(limited.publish('elsewhere:chan', '1')).rejects.toThrow(/NOPERM/);
      await limited.quit();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
