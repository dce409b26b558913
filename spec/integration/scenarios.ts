/**
 * The main integration scenarios, written once and run against each backend
 * (core.standalone.test.ts, core.cluster.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { CouldNotConnectError, Gossip, Observer } from '../../lib/index.js';
import type { Backend } from '../support/backends.js';
import { eventually, nextEvent, useNodes } from '../support/cluster.js';
import { keysOf } from '../support/keys.js';

export function coreScenarios(backend: Backend): void {
  const { start, cluster, namespace } = useNodes(() => backend.connection());

  describe(`core scenarios on ${backend.name} Redis`, () => {
    it('set and get on a lone node', async () => {
      const a = await start('a');
      await a.set({ hello: 'world' });
      expect(a.get()).toEqual({ hello: 'world' });
      expect(Object.isFrozen(a.get())).toBe(true);
    });

    it('an updater with a change and with no_change', async () => {
      const [a, b] = await cluster<number>(['a', 'b']);
      await a!.set(1);
      const follower = a!.leader === 'a' ? b! : a!;
      await follower.set((cur) => ({ change: (cur ?? 0) + 1 }));
      const version = follower.version;
      await follower.set(() => 'no_change');
      expect(follower.get()).toBe(2);
      expect(follower.version).toBe(version);
    });

    it('a write on each of 3 nodes reaches the other two; setSync waits for all', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      for (const n of nodes) {
        await n.setSync(`from ${n.id}`);
        for (const m of nodes) expect(m.get()).toBe(`from ${n.id}`);
      }
    });

    it('each other member receives exactly one change frame per write, and the writer none', async () => {
      const nodes = await cluster(['a', 'b', 'c', 'd', 'e'], { gossipIntervalMs: 60_000 });
      const leader = nodes.find((n) => n.leader === n.id)!;
      const follower = nodes.find((n) => n !== leader)!;
      const received = () => nodes.map((n) => n.metrics().received.change?.messages ?? 0);
      // From a non-leader and from the leader alike: no leader hop, one publish per member.
      for (const writer of [follower, leader]) {
        const before = received();
        await writer.set(`once from ${writer.id}`);
        await eventually(() => nodes.every((n) => n.get() === `once from ${writer.id}`));
        await new Promise((r) => setTimeout(r, 200));
        const got = received().map((x, i) => [nodes[i]!.id, x - before[i]!] as const);
        expect(got).toEqual(nodes.map((n) => [n.id, n === writer ? 0 : 1]));
      }
    });

    it('a member notifies its subscribers of another member’s write', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      const follower = nodes.find((n) => n.leader !== n.id)!;
      const event = nextEvent<{ data: unknown }>((h) => follower.subscribe(h));
      await nodes.find((n) => n !== follower)!.set('hello');
      await expect(event).resolves.toMatchObject({ data: 'hello' });
    });

    it('join: the joined node reads the value; an unknown node fails with could_not_connect_to_node', async () => {
      const a = await start('a');
      await a.set('shared');
      const b = await start('b');
      await a.join('b');
      await eventually(() => b.get() === 'shared' && b.nodes.length === 2);
      await expect(a.join('ghost')).rejects.toBeInstanceOf(CouldNotConnectError);
    });

    it('leave: the node goes on alone, the others without it', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      const leaver = nodes.find((n) => n.leader !== n.id)!;
      await leaver.leave(leaver.id);
      await eventually(() => leaver.nodes.length === 1 && nodes.filter((n) => n !== leaver).every((n) => n.nodes.length === 2));
    });

    it('status is ok, then times out naming a stopped member', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      await nodes[0]!.setSync('x');
      expect(await nodes[1]!.status()).toMatchObject({ ok: true });
      const victim = nodes.find((n) => n.leader !== n.id)!;
      await victim.stop();
      const asker = nodes.find((n) => n !== victim)!;
      expect(await asker.status()).toMatchObject({ ok: false, error: 'timeout', unresponsive: [victim.id] });
    });

    it('config mode: setCfgSync, getCfg and deleteCfg everywhere', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      await nodes[1]!.setCfgSync('flag', true);
      await nodes[2]!.deleteCfgSync('missing');
      for (const n of nodes) expect(n.getCfg('flag', false)).toBe(true);
      await nodes[0]!.deleteCfgSync('flag');
      for (const n of nodes) expect(n.getCfg('flag', 'gone')).toBe('gone');
    });

    it('the leader stops: it hands the housekeeping to a live member, and the others write on', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      const leader = nodes.find((n) => n.leader === n.id)!;
      const rest = nodes.filter((n) => n !== leader);
      await leader.stop();
      await rest[1]!.set('after');
      await eventually(() => rest.every((n) => n.get() === 'after' && n.leader !== leader.id && rest.some((m) => m.id === n.leader)));
    });

    it('a node restarts from its cluster’s state in Redis, which its node key names', async () => {
      const a = await start('a');
      await a.set({ kept: true });
      const { version, cluster: id } = a.rumor;
      await a.stop();
      const key = await backend.probe().hgetall(keysOf(namespace()).snapshot('a'));
      expect(key).toMatchObject({ c: id, v: String(version), nodes: 'a' });
      expect(JSON.stringify(key)).not.toContain('kept');
      const again = await start('a');
      expect(again.get()).toEqual({ kept: true });
      expect(again.version).toBe(version);
      expect(again.rumor.cluster).toBe(id);
    });

    it('3 nodes × 50 concurrent updater increments make exactly 150', async () => {
      const nodes = await cluster<number>(['a', 'b', 'c']);
      await nodes[0]!.setSync(0);
      await Promise.all(nodes.flatMap((n) => Array.from({ length: 50 }, () => n.set((cur) => ({ change: (cur ?? 0) + 1 })))));
      await eventually(() => nodes.every((n) => n.get() === 150));
    });

    it('join auto: nodes started together find each other; eviction removes a stopped one', async () => {
      const opts = { join: 'auto' as const, evictAfterMs: 300, gossipIntervalMs: 200 };
      const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => start(id, opts)));
      await eventually(() => nodes.every((n) => n.nodes.length === 3 && n.leader === nodes[0]!.leader));
      const victim = nodes.find((n) => n.leader !== n.id)!;
      await victim.stop();
      await eventually(() => nodes.filter((n) => n !== victim).every((n) => n.nodes.length === 2), 5_000);
    });

    it('an observer sees the members, and its write (the members’ script) reaches every member', async () => {
      const nodes = await cluster(['a', 'b']);
      const o = await Observer.connect({ redis: backend.connection(), namespace: namespace() });
      try {
        expect(await o.live()).toEqual(['a', 'b']);
        const after = await o.write({ kind: 'cfg', key: 'k', value: 1 });
        expect(after.data).toEqual({ k: 1 });
        await eventually(() => nodes.every((n) => n.getCfg('k') === 1 && n.version === after.version));
      } finally {
        await o.close();
      }
    });

    it('a second node with a live id is refused', async () => {
      await start('a');
      await expect(Gossip.start({ redis: backend.connection(), namespace: namespace(), nodeId: 'a' })).rejects.toMatchObject({ code: 'node_id_in_use' });
    });
  });
}
