import { describe, expect, it } from 'vitest';
import { Gossip, PropagationTimeoutError } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { keysOf, readNodeKey, redisNow } from '../support/keys.js';
import { freshNamespace, useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);
const client = useClients(redis);

describe('discovery (join: auto)', () => {
  it('5 nodes started at the same moment end as one cluster with one leader, 20 times out of 20', async () => {
    for (let round = 0; round < 20; round++) {
      const namespace = freshNamespace('auto');
      const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
      const nodes = await Promise.all(ids.map((nodeId) => Gossip.start({ redis: redis(), namespace, nodeId, join: 'auto', rpcTimeoutMs: 1_000, gossipIntervalMs: 300 })));
      try {
        await eventually(
          () => {
            const leaders = new Set(nodes.map((n) => n.leader));
            const versions = new Set(nodes.map((n) => n.version));
            return nodes.every((n) => n.nodes.length === 5) && leaders.size === 1 && versions.size === 1;
          },
          10_000,
          `round ${round}: one cluster`,
        );
        expect([...nodes[0]!.nodes].sort()).toEqual(ids);
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    }
  }, 120_000);

  it('a node joins the largest live cluster of the namespace, by itself', async () => {
    // The small cluster is the older one: size comes first.
    const small = await start('y1', { gossipIntervalMs: 200 });
    await new Promise((r) => setTimeout(r, 20));
    const big = await cluster(['x1', 'x2', 'x3'], { gossipIntervalMs: 200 });
    const z = await start('z', { join: 'auto', gossipIntervalMs: 200 });
    await eventually(() => z.nodes.length === 4 && big.every((n) => n.nodes.length === 4), 5_000);
    expect(z.rumor.cluster).toBe(big[0]!.rumor.cluster);
    expect(small.nodes).toEqual(['y1']);
  });

  it('between live clusters of one size, a node joins the oldest', async () => {
    const older = await cluster(['o1', 'o2'], { gossipIntervalMs: 200 });
    await new Promise((r) => setTimeout(r, 20));
    const newer = await cluster(['p1', 'p2'], { gossipIntervalMs: 200 });
    const z = await start('z', { join: 'auto', gossipIntervalMs: 200 });
    await eventually(() => z.nodes.length === 3 && older.every((n) => n.nodes.length === 3), 5_000);
    expect(z.rumor.cluster).toBe(older[0]!.rumor.cluster);
    for (const n of newer) expect(n.nodes).toHaveLength(2);
  });

  it('a node that left on purpose stays out; join() brings it back', async () => {
    const opts = { join: 'auto' as const, gossipIntervalMs: 200 };
    const a = await start('a', opts);
    const b = await start('b', opts);
    await eventually(() => a.nodes.length === 2 && b.nodes.length === 2);
    await b.leave('b');
    await eventually(() => a.nodes.length === 1 && b.nodes.length === 1);
    await new Promise((r) => setTimeout(r, 600));
    expect(b.nodes).toEqual(['b']);
    await b.join('a');
    await eventually(() => a.nodes.length === 2 && b.nodes.length === 2);
  });
});

describe('eviction', () => {
  it('the leader evicts a member whose node key has not been refreshed for evictAfterMs, and deletes that key; status is ok again', async () => {
    const opts = { evictAfterMs: 500, gossipIntervalMs: 200 };
    const nodes = await cluster(['a', 'b', 'c'], opts);
    const victim = nodes.find((n) => n.leader !== n.id)!;
    const rest = nodes.filter((n) => n !== victim);
    const probe = client();
    await victim.stop();
    // Its last sign of life: the last tick that refreshed its node key.
    const lastSeen = Number((await readNodeKey(probe, namespace(), victim.id)).seen);
    expect(lastSeen).toBeGreaterThan(0);
    await eventually(() => rest.every((n) => n.nodes.length === 2), 5_000);
    expect((await redisNow(probe)) - lastSeen).toBeGreaterThanOrEqual(500);
    expect(await probe.exists(keysOf(namespace()).snapshot(victim.id))).toBe(0);
    for (const n of rest) expect(n.nodes).not.toContain(victim.id);
    expect(await rest[0]!.status()).toMatchObject({ ok: true });
    // The members that tick are never evicted.
    await new Promise((r) => setTimeout(r, 800));
    for (const n of rest) expect([...n.nodes].sort()).toEqual(rest.map((m) => m.id).sort());
  });

  it('an evicted member that comes back with join auto rejoins by itself and regains the newest data', async () => {
    const opts = { join: 'auto' as const, evictAfterMs: 400, gossipIntervalMs: 200 };
    const a = await start('a', opts);
    const b = await start('b', opts);
    const c = await start('c', opts);
    const all = [a, b, c];
    await eventually(() => all.every((n) => n.nodes.length === 3));
    const victim = all.find((n) => n.leader !== n.id)!;
    const rest = all.filter((n) => n !== victim);
    await victim.stop();
    await eventually(() => rest.every((n) => n.nodes.length === 2), 5_000);
    await rest[0]!.setSync({ written: 'while away' });
    const back = await start(victim.id, opts);
    await eventually(() => back.nodes.length === 3 && rest.every((n) => n.nodes.length === 3), 5_000);
    expect(back.get()).toEqual({ written: 'while away' });
    expect(new Set(back.nodes).size).toBe(3);
  });
});

describe('deleteCfg', () => {
  it('a deleted key is gone everywhere and getCfg returns the default', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[0]!.setCfgSync('flag', 'on');
    await nodes[1]!.setCfgSync('other', 1);
    await nodes[2]!.deleteCfgSync('flag');
    for (const n of nodes) {
      expect(n.getCfg('flag', 'default')).toBe('default');
      expect(n.getCfg('other', 0)).toBe(1);
      expect(Object.keys(n.get() as object)).toEqual(['other']);
    }
  });

  it('deleting a missing key changes nothing', async () => {
    const a = await start('a');
    await a.setCfg('k', 1);
    const version = a.version;
    await a.deleteCfg('missing');
    expect(a.version).toBe(version);
  });
});

describe('setSync acknowledgement levels', () => {
  it("'majority' resolves while a member is down; 'all' times out naming it and its version", async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const victim = nodes.find((n) => n.leader !== n.id)!;
    const writer = nodes.find((n) => n !== victim)!;
    await victim.stop();
    await writer.setSync('majority', { wait: 'majority', timeoutMs: 1_000 });
    await writer.setSync('two', { wait: 2, timeoutMs: 1_000 });
    const err = await writer.setSync('all', { wait: 'all', timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PropagationTimeoutError);
    expect((err as PropagationTimeoutError).laggards).toEqual([{ nodeId: victim.id, version: undefined }]);
    expect((err as Error).message).toContain(victim.id);
    // The write itself is applied, on the live members.
    expect(writer.get()).toBe('all');
  });

  it('an AbortSignal stops the wait', async () => {
    const nodes = await cluster(['a', 'b']);
    const victim = nodes[1]!;
    await victim.stop();
    const controller = new AbortController();
    const pending = nodes[0]!.setSync('x', { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('changed my mind')), 50);
    await expect(pending).rejects.toThrow('changed my mind');
    await expect(nodes[0]!.setSync('y', { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe('readiness', () => {
  it('ready and synced are true for a running node and false after stop', async () => {
    const [a, b] = await cluster(['a', 'b']);
    await eventually(() => a!.synced && b!.synced);
    expect(a!.ready).toBe(true);
    await b!.stop();
    expect(b!.ready).toBe(false);
    expect(b!.synced).toBe(false);
  });
});
