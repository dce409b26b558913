import { describe, expect, it } from 'vitest';
import { Gossip, NodeIdInUseError, StoppedError } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { keysOf, readClusterHash, readNodeKey, redisNow } from '../support/keys.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

const client = useClients(redis);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stopping', () => {
  it('a stopped member keeps its membership and the others carry on', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const member = nodes.find((n) => n.leader !== n.id)!;
    const rest = nodes.filter((n) => n !== member);
    await member.stop();
    await rest[0]!.set('still working');
    await eventually(() => rest.every((n) => n.get() === 'still working'));
    expect(rest[0]!.nodes).toContain(member.id);
    expect((await readClusterHash(client(), namespace(), rest[0]!.rumor.cluster)).nodes!.split(' ')).toContain(member.id);
  });

  it('stop is idempotent and later calls reject with StoppedError', async () => {
    const a = await start('a');
    await Promise.all([a.stop(), a.stop()]);
    await a.stop();
    await expect(a.set(1)).rejects.toBeInstanceOf(StoppedError);
    await expect(a.status()).rejects.toBeInstanceOf(StoppedError);
  });

  it('a stopping leader hands the housekeeping over to a live member before it goes; writes never wait for a leader', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { gossipIntervalMs: 60_000 });
    const leader = nodes.find((n) => n.leader === n.id)!;
    const rest = nodes.filter((n) => n !== leader);
    await leader.stop();
    // The hand-over is committed before stop() resolves (no tick is needed: they are a minute apart).
    const hash = await readClusterHash(client(), namespace(), leader.rumor.cluster);
    expect(rest.map((n) => n.id)).toContain(hash.leader);
    await eventually(() => rest.every((n) => n.leader === hash.leader));
    await rest[1]!.set('after hand-over');
    await eventually(() => rest.every((n) => n.get() === 'after hand-over'));
  });

  it('Symbol.asyncDispose stops the node', async () => {
    let ref: Gossip | undefined;
    {
      await using a = await start('a');
      ref = a;
    }
    await expect(ref.set(1)).rejects.toBeInstanceOf(StoppedError);
  });
});

describe('start', () => {
  it('refuses a nodeId that is already live in the namespace, leaving the live one alone', async () => {
    const a = await start('a');
    await expect(Gossip.start({ redis: redis(), namespace: namespace(), nodeId: 'a' })).rejects.toBeInstanceOf(NodeIdInUseError);
    await a.set('still mine');
    expect(a.get()).toBe('still mine');
    expect((await a.status()).ok).toBe(true);
  });

  it('restarts from its cluster’s state in Redis, which its node key names', async () => {
    const a = await start('a');
    await a.set({ kept: 1 });
    const { version, cluster: id } = a.rumor;
    await a.stop();
    const again = await start('a');
    expect(again.get()).toEqual({ kept: 1 });
    expect(again.version).toBe(version);
    expect(again.rumor.cluster).toBe(id);
  });

  it('a restarted member takes the cluster’s newest state from Redis in one read, asking no member', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const member = nodes.find((n) => n.leader !== n.id)!;
    const rest = nodes.filter((n) => n !== member);
    await member.stop();
    await rest[0]!.set('while away');
    const back = await start(member.id);
    expect(back.get()).toBe('while away');
    expect(back.version).toBe(rest[0]!.version);
    expect(back.nodes).toEqual(rest[0]!.nodes);
    expect(new Set(back.nodes).size).toBe(back.nodes.length);
    // No head or restore request went to a peer: the state came from the cluster's hash.
    expect(back.metrics().rpc).toEqual({});
  });
});

describe('whenSynced', () => {
  it('resolves at once on a node that has compared its state with Redis, and rejects with StoppedError once it is stopped', async () => {
    const a = await start('a');
    expect(a.synced).toBe(true);
    await a.whenSynced({ timeoutMs: 50 });
    await a.stop();
    await expect(a.whenSynced({ timeoutMs: 1_000 })).rejects.toBeInstanceOf(StoppedError);
  });

  it('waits while the link to Redis is cut (timing out, or aborted by a signal) and resolves once the node is synced again', async () => {
    const proxy = await FaultProxy.start(redis());
    try {
      const a = await start('a', { redis: proxy.url, gossipIntervalMs: 200 });
      await a.set('before the cut');
      proxy.setMode('drop');
      await eventually(() => !a.synced, 2_000, 'the node sees the cut');
      const timedOut = await a.whenSynced({ timeoutMs: 200 }).catch((e: unknown) => e);
      expect(timedOut).toMatchObject({ code: 'timeout' });
      const ac = new AbortController();
      const aborted = a.whenSynced({ timeoutMs: 10_000, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('gave up')), 50);
      await expect(aborted).rejects.toThrow('gave up');
      const resynced = a.whenSynced({ timeoutMs: 10_000 });
      proxy.setMode('pass');
      await resynced;
      expect(a.synced).toBe(true);
      expect(a.get()).toBe('before the cut');
      await a.stop();
    } finally {
      await proxy.close();
    }
  });
});

describe('the node key', () => {
  it('holds the cluster, the version and the members, and no data', async () => {
    const a = await start('a');
    await a.set({ secretValue: 'x'.repeat(64) });
    await a.stop();
    const key = await readNodeKey(client(), namespace(), 'a');
    expect(key).toMatchObject({ c: a.rumor.cluster, v: String(a.version), nodes: 'a' });
    expect(Object.keys(key).sort()).toEqual(expect.arrayContaining(['c', 'nodes', 'v']));
    // Bookkeeping only: no data field (d, k:<key>) as the cluster's hash has them.
    expect(Object.keys(key).filter((f) => f === 'd' || f.startsWith('k:'))).toEqual([]);
    expect(JSON.stringify(key)).not.toContain('secretValue');
    // The data is in the cluster's hash instead.
    expect(JSON.stringify(await readClusterHash(client(), namespace(), a.rumor.cluster))).toContain('secretValue');
  });

  it('has a TTL of nodeKeyTtlMs, from start and after stop', async () => {
    const ttl = 60_000;
    const a = await start('a', { nodeKeyTtlMs: ttl });
    const key = keysOf(namespace()).snapshot('a');
    const atStart = await client().pttl(key);
    expect(atStart).toBeGreaterThan(ttl - 5_000);
    expect(atStart).toBeLessThanOrEqual(ttl);
    await a.stop();
    const afterStop = await client().pttl(key);
    expect(afterStop).toBeGreaterThan(ttl - 5_000);
    expect(afterStop).toBeLessThanOrEqual(ttl);
  });

  it('defaults to a TTL of 7 days', async () => {
    const a = await start('a');
    await a.stop();
    const pttl = await client().pttl(keysOf(namespace()).snapshot('a'));
    const week = 7 * 24 * 60 * 60_000;
    expect(pttl).toBeGreaterThan(week - 60_000);
    expect(pttl).toBeLessThanOrEqual(week);
  });

  it('is written whole on stop, with the version the node stopped at', async () => {
    // A minute between ticks: only stop() can write the key here.
    const a = await start('a', { gossipIntervalMs: 60_000 });
    const startedAt = Number((await readNodeKey(client(), namespace(), 'a')).v);
    for (let i = 0; i < 3; i++) await a.set(i);
    expect(Number((await readNodeKey(client(), namespace(), 'a')).v)).toBe(startedAt);
    await a.stop();
    expect(a.version).toBe(startedAt + 3);
    expect(await readNodeKey(client(), namespace(), 'a')).toMatchObject({ c: a.rumor.cluster, v: String(a.version), nodes: 'a' });
  });

  it('is written on membership changes (join, leave) but not on data writes', async () => {
    const opts = { gossipIntervalMs: 60_000 };
    const a = await start('a', opts);
    const b = await start('b', opts);
    await a.join('b');
    await eventually(() => b.nodes.length === 2);
    await eventually(async () => {
      for (const id of ['a', 'b']) expect(await readNodeKey(client(), namespace(), id)).toMatchObject({ c: a.rumor.cluster, nodes: 'b a' });
    });
    const joinedAt = await readNodeKey(client(), namespace(), 'a');
    const writes = [a.metrics().snapshotWrites, b.metrics().snapshotWrites];
    expect(writes.every((w) => w >= 1)).toBe(true);
    await a.set('data');
    await eventually(() => b.get() === 'data');
    await sleep(100);
    expect(await readNodeKey(client(), namespace(), 'a')).toEqual(joinedAt);
    expect([a.metrics().snapshotWrites, b.metrics().snapshotWrites]).toEqual(writes);
    await a.leave('b');
    await eventually(async () => {
      expect(await readNodeKey(client(), namespace(), 'a')).toMatchObject({ c: a.rumor.cluster, nodes: 'a' });
      const bKey = await readNodeKey(client(), namespace(), 'b');
      expect(bKey).toMatchObject({ c: b.rumor.cluster, nodes: 'b' });
      expect(bKey.c).not.toBe(a.rumor.cluster);
    });
    expect(a.metrics().snapshotWrites).toBeGreaterThan(writes[0]!);
    expect(b.metrics().snapshotWrites).toBeGreaterThan(writes[1]!);
  });

  it('is refreshed by every tick: seen moves on, the version follows, the TTL starts again', async () => {
    const ttl = 3_000;
    const a = await start('a', { gossipIntervalMs: 200, nodeKeyTtlMs: ttl });
    const first = await readNodeKey(client(), namespace(), 'a');
    await a.set('one');
    await a.set('two');
    await eventually(async () => {
      const now = await readNodeKey(client(), namespace(), 'a');
      expect(Number(now.seen)).toBeGreaterThan(Number(first.seen));
      expect(now.v).toBe(String(a.version));
    }, 3_000);
    // Longer than the TTL left at start: only the ticks keep the key alive.
    await sleep(ttl + 500);
    const key = keysOf(namespace()).snapshot('a');
    expect(await client().exists(key)).toBe(1);
    expect(await client().pttl(key)).toBeGreaterThan(ttl - 1_000);
    const seen = Number((await readNodeKey(client(), namespace(), 'a')).seen);
    expect((await redisNow(client())) - seen).toBeLessThan(1_000);
  });
});
