import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gossip } from '../../lib/index.js';
import { buildCli, runCli } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { RedisClusterServers } from '../../tools/redis-server.js';
import { freshNamespace, RedisServer } from '../support/redis.js';

// requirepass and ACLs need a server of our own.
let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  await buildCli();
  server = await RedisServer.start({ args: ['--requirepass', 'admin-pw'] });
  admin = new Redis(server.url, { password: 'admin-pw' });
}, 120_000);
afterAll(async () => {
  await admin?.quit();
  await server?.stop();
});

/**
 * The ACL line the README gives: the namespace's keys and channels (all
 * `{<namespace>}:…`), and the commands a node and the CLI send — the
 * scripts' commands included, since Redis checks those too.
 */
const ACL_COMMANDS = [
  '-@all',
  // the scripts (ioredis: EVALSHA, then EVAL after a NOSCRIPT), and what they call
  '+evalsha',
  '+eval',
  '+script|load',
  '+time',
  '+hgetall',
  '+hget',
  '+hmget',
  '+hset',
  '+hdel',
  '+hkeys',
  '+hexists',
  '+exists',
  '+get',
  '+set',
  '+del',
  '+pexpire',
  '+multi',
  '+exec',
  // messages, listeners, and the namespace's channels
  '+publish',
  '+subscribe',
  '+unsubscribe',
  '+pubsub|numsub',
  '+pubsub|channels',
  // the connection (ioredis's ready check, its name), and the CLI's purge
  '+ping',
  '+info',
  '+client|setname',
  '+quit',
  '+scan',
];

/** What a Redis Cluster needs on top: sharded pub/sub and the topology (the README's second line). */
const CLUSTER_ACL_COMMANDS = ['+spublish', '+ssubscribe', '+sunsubscribe', '+pubsub|shardnumsub', '+pubsub|shardchannels', '+cluster|slots', '+cluster|info'];

function aclFor(namespace: string, user: string, password: string, extra: readonly string[] = []): string[] {
  return ['ACL', 'SETUSER', user, 'on', `>${password}`, 'resetkeys', `~{${namespace}}:*`, 'resetchannels', `&{${namespace}}:*`, ...ACL_COMMANDS, ...extra];
}

describe('a Redis that asks for credentials', () => {
  it('the README gives the ACL line this file grants', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const line = ['ACL', 'SETUSER', 'gossip', 'on', '>password', 'resetkeys', '~{myns}:*', 'resetchannels', '&{myns}:*', ...ACL_COMMANDS].join(' ');
    expect(readme.split('\n').map((l) => l.trim())).toContain(line);
    expect(readme).toContain(`On a Redis Cluster add the sharded pub/sub and the topology commands:\n  \`${CLUSTER_ACL_COMMANDS.join(' ')}\`.`);
  });

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
    const options = { redis, namespace, join: 'auto', evictAfterMs: 5_000, gossipIntervalMs: 200 } as const;
    const a = await Gossip.start<Record<string, unknown>>({ ...options, nodeId: 'a' });
    const b = await Gossip.start<Record<string, unknown>>({ ...options, nodeId: 'b' });
    const errors: Error[] = [];
    for (const n of [a, b]) n.on('error', (err) => errors.push(err));
    try {
      await eventually(() => a.nodes.length === 2 && b.nodes.length === 2);
      await b.setSync({ acl: true });
      expect(a.get()).toEqual({ acl: true });
      await a.setCfgSync('limit', 1);
      await a.deleteCfgSync('limit');
      await b.setSync((cur) => ({ change: { ...cur, updated: true } }));
      expect((await a.status()).ok).toBe(true);

      // Redis loses everything (no persistence): the members write their state back, under the same user.
      await admin.flushall();
      await b.setCfg('after', 'flush');
      await eventually(() => a.getCfg('after') === 'flush', 5_000);
      expect(a.get()).toEqual({ acl: true, updated: true, after: 'flush' });

      // The CLI, as the same user.
      const cli = (...args: string[]) => runCli(['--redis', `redis://gossip:node-pw@127.0.0.1:${server.port}`, '--namespace', namespace, ...args]);
      for (const args of [['status'], ['get'], ['set-cfg', 'cli', '1'], ['delete-cfg', 'cli'], ['nodes'], ['purge', '--dry-run']]) {
        const r = await cli(...args);
        expect(r.stderr, args.join(' ') + ': ' + r.stderr).toBe('');
        expect(r.code, args.join(' ')).toBe(0);
      }

      const limited = new Redis({ ...redis, lazyConnect: true });
      await limited.connect();
      await expect(limited.set('elsewhere:key', '1')).rejects.toThrow(/NOPERM/);
      await expect(limited.hset(`{other}:cluster:x`, 'v', '1')).rejects.toThrow(/NOPERM/);
      await expect(limited.publish('elsewhere:chan', '1')).rejects.toThrow(/NOPERM/);
      await expect(limited.publish(`${namespace}:node:a`, '1')).rejects.toThrow(/NOPERM/); // untagged names are not the namespace's
      await expect(limited.call('KEYS', '*')).rejects.toThrow(/NOPERM/);
      await limited.quit();
      expect(errors.filter((e) => /NOPERM/.test(e.message))).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("works on a Redis Cluster with the ACL user and the README's additions for it", async () => {
    const servers = await RedisClusterServers.start(3);
    const namespace = freshNamespace('acl-cluster');
    const redisOptions = { username: 'gossip', password: 'node-pw' };
    const clients: Cluster[] = [];
    const client = () => {
      const c = new Cluster(servers.nodes, { redisOptions });
      clients.push(c);
      return c;
    };
    const nodes: Gossip<Record<string, unknown>>[] = [];
    try {
      for (const { port } of servers.nodes) {
        const each = new Redis({ port });
        await each.call(...(aclFor(namespace, 'gossip', 'node-pw', CLUSTER_ACL_COMMANDS) as [string, ...string[]]));
        await each.quit();
      }
      const options = { redis: client(), namespace, join: 'auto', evictAfterMs: 5_000, gossipIntervalMs: 200 } as const;
      const a = await Gossip.start<Record<string, unknown>>({ ...options, nodeId: 'a' });
      const b = await Gossip.start<Record<string, unknown>>({ ...options, nodeId: 'b' });
      nodes.push(a, b);
      const errors: Error[] = [];
      for (const n of nodes) n.on('error', (err) => errors.push(err));
      await eventually(() => a.nodes.length === 2 && b.nodes.length === 2, 10_000);
      await b.setSync({ acl: 'cluster' });
      await a.setCfgSync('limit', 1);
      expect(b.get()).toEqual({ acl: 'cluster', limit: 1 });
      expect((await a.status()).ok).toBe(true);

      const urls = servers.nodes.flatMap(({ port }) => ['--redis', `redis://gossip:node-pw@127.0.0.1:${port}`]);
      for (const args of [['status'], ['get'], ['set-cfg', 'cli', '1'], ['delete-cfg', 'cli'], ['nodes'], ['purge', '--dry-run']]) {
        const r = await runCli(['--cluster', ...urls, '--namespace', namespace, ...args]);
        expect(r.stderr, args.join(' ') + ': ' + r.stderr).toBe('');
        expect(r.code, args.join(' ')).toBe(0);
      }
      await expect(client().set('elsewhere:key', '1')).rejects.toThrow(/NOPERM/);
      expect(errors.filter((e) => /NOPERM/.test(e.message))).toEqual([]);
    } finally {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      await Promise.allSettled(clients.map((c) => c.quit()));
      await servers.stop();
    }
  }, 60_000);
});
