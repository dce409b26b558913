import { deserialize } from '../../lib/codec.js';
import { describe, expect, it } from 'vitest';
import { Gossip, NodeIdInUseError, StoppedError } from '../../lib/index.js';
import type { Rumor } from '../../lib/index.js';
import { SnapshotStore } from '../../lib/snapshot.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

const client = useClients(redis);

describe('stopping', () => {
  it('a stopped member keeps its membership and the others carry on', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const member = nodes.find((n) => n.leader !== n.id)!;
    const rest = nodes.filter((n) => n !== member);
    await member.stop();
    await rest[0]!.set('still working');
    await eventually(() => rest.every((n) => n.get() === 'still working'));
    expect(rest[0]!.nodes).toContain(member.id);
  });

  it('stop is idempotent and later calls reject with StoppedError', async () => {
    const a = await start('a');
    await Promise.all([a.stop(), a.stop()]);
    await a.stop();
    await expect(a.set(1)).rejects.toBeInstanceOf(StoppedError);
    await expect(a.status()).rejects.toBeInstanceOf(StoppedError);
  });

  it('a stopping leader hands leadership over and the others take writes at once', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const leader = nodes.find((n) => n.leader === n.id)!;
    const rest = nodes.filter((n) => n !== leader);
    await leader.stop();
    await eventually(() => rest.every((n) => n.leader !== leader.id && n.leader === rest[0]!.leader));
    await rest[1]!.set('after hand-over');
    await eventually(() => rest.every((n) => n.get() === 'after hand-over'));
  });

  it('Symbol.asyncDispose stops the node', async () => {
    let ref: Gossip | undefined;
    {
      await using a = await start('a');
      ref = a;
    }
    await expect(ref!.set(1)).rejects.toBeInstanceOf(StoppedError);
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

  it('restarts from its persisted snapshot', async () => {
    const a = await start('a');
    await a.set({ kept: 1 });
    const version = a.version;
    await a.stop();
    const again = await start('a');
    expect(again.get()).toEqual({ kept: 1 });
    expect(again.version).toBe(version);
  });

  it('a restarted member takes the newer cluster rumor from a live peer', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const member = nodes.find((n) => n.leader !== n.id)!;
    const rest = nodes.filter((n) => n !== member);
    await member.stop();
    await rest[0]!.set('while away');
    const back = await start(member.id);
    expect(back.get()).toBe('while away');
    expect(back.nodes).toEqual(rest[0]!.nodes);
    expect(new Set(back.nodes).size).toBe(back.nodes.length);
  });

  it('the snapshot in Redis ends up as the newest rumor even when writes pile up', async () => {
    const c = client();
    const key = `${namespace()}:snapshot:x`;
    const store = new SnapshotStore<number>(c, key, (err) => {
      throw err;
    });
    const base: Rumor<number> = { cluster: 'x@1', version: 1, vclock: {}, data: 0, leader: 'x', nodes: ['x'], fanout: 2, gossipIntervalMs: 1000 };
    for (let v = 1; v <= 50; v++) store.save({ ...base, version: v, data: v });
    await store.flush();
    const stored = deserialize<Rumor<number>>((await c.get(key))!);
    expect(stored.version).toBe(50);
    expect(stored.data).toBe(50);
    expect(store.writes).toBeLessThan(50);
  });

  it("a member's saves in one turn of the event loop make one write, of the newest, just after that turn", async () => {
    const c = client();
    const key = `${namespace()}:snapshot:m`;
    const store = new SnapshotStore<number>(c, key, (err) => {
      throw err;
    });
    const base: Rumor<number> = { cluster: 'x@1', version: 1, vclock: {}, data: 0, leader: 'x', nodes: ['x', 'm'], fanout: 2, gossipIntervalMs: 1000 };
    for (let v = 1; v <= 20; v++) store.save({ ...base, version: v }, true);
    expect(store.writes).toBe(0);
    await eventually(async () => deserialize<Rumor<number>>((await c.get(key)) ?? '=null')?.version === 20, 2_000, 'the newest');
    expect(store.writes).toBe(1);
  });

  it('a node keeps its snapshot up to date in Redis', async () => {
    const a = await start('a');
    await a.set('persisted');
    await eventually(async () => {
      const text = await client().get(`${namespace()}:snapshot:a`);
      return text !== null && deserialize<Rumor>(text).data === 'persisted';
    });
  });
});
