import { describe, expect, it } from 'vitest';
import { CouldNotConnectError } from '../../lib/index.js';
import type { Gossip } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { readClusterHash } from '../support/keys.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);
const client = useClients(redis);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('join', () => {
  it('a joined node reads the cluster value', async () => {
    const a = await start('a');
    await a.set({ shared: true });
    const b = await start('b');
    await a.join('b');
    await eventually(() => b.nodes.length === 2);
    expect(b.get()).toEqual({ shared: true });
    expect(a.nodes).toEqual(['b', 'a']);
    expect(b.nodes).toEqual(['b', 'a']);
    expect(b.leader).toBe('a');
  });

  it('joining a node nobody answers for fails with could_not_connect_to_node', async () => {
    const a = await start('a');
    const err = await a.join('ghost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CouldNotConnectError);
    expect((err as CouldNotConnectError).code).toBe('could_not_connect_to_node');
    expect(a.nodes).toEqual(['a']);
  });

  it('joining yourself is a no-op', async () => {
    const a = await start('a');
    await a.join('a');
    expect(a.nodes).toEqual(['a']);
    expect(a.version).toBe(1);
  });

  it('whole values: the side written last wins, whatever the versions; the version goes above both', async () => {
    for (const lastWriter of ['caller', 'joined'] as const) {
      const a = await start(`a-${lastWriter}`);
      const b = await start(`b-${lastWriter}`);
      // The joined side climbs to a higher version, but writes first (or last).
      if (lastWriter === 'caller') {
        for (let i = 0; i < 5; i++) await b.set(`b-${i}`);
        await sleep(5);
        await a.set('a-data');
      } else {
        await a.set('a-data');
        await sleep(5);
        for (let i = 0; i < 5; i++) await b.set(`b-${i}`);
      }
      const expected = lastWriter === 'caller' ? 'a-data' : 'b-4';
      const before = Math.max(a.version, b.version);
      await a.join(b.id);
      await eventually(() => a.nodes.length === 2 && b.nodes.length === 2 && a.version === b.version);
      expect([lastWriter, a.get(), b.get()]).toEqual([lastWriter, expected, expected]);
      expect(a.version).toBe(before + 1);
    }
  });

  it('a join called on a non-leader commits it itself: the caller’s cluster, with its leader, takes the other in, with no request to the leader', async () => {
    const [a, b] = await cluster(['a', 'b']);
    const c = await start('c');
    const follower = a!.leader === 'a' ? b! : a!;
    const leader = follower === a ? b! : a!;
    const requestsTo = (n: Gossip) => Object.entries(n.metrics().received).filter(([type]) => type !== 'change' && type !== 'head' && type !== 'reply');
    const leaderBefore = requestsTo(leader);
    await follower.join('c');
    await eventually(() => [a!, b!, c].every((n) => n.nodes.length === 3 && n.version === follower.version));
    expect(c.nodes).toEqual(['c', ...leader.nodes.filter((id) => id !== 'c')]);
    for (const n of [a!, b!, c]) expect(n.leader).toBe(leader.id);
    expect(c.rumor.cluster).toBe(leader.rumor.cluster);
    // The follower asked only the node it joined where it is (one head request); the leader was asked nothing.
    expect(Object.keys(follower.metrics().rpc)).toEqual(['headreq']);
    expect(follower.metrics().rpc.headreq).toMatchObject({ calls: 1, answered: 1 });
    expect(c.metrics().received.headreq?.messages).toBe(1);
    expect(requestsTo(leader)).toEqual(leaderBefore);
  });
});

describe("join never drops an acknowledged write (v1 let a fresh node's empty data win on a version tie)", () => {
  const writes = {
    'a whole value': { write: (n: Gossip) => n.set('acked'), check: (n: Gossip) => expect(n.get()).toBe('acked') },
    'a config key': { write: (n: Gossip) => n.setCfg('limit', 10), check: (n: Gossip) => expect(n.get()).toEqual({ limit: 10 }) },
  };
  const cases = (['fresh.join(written)', 'written.join(fresh)'] as const).flatMap((via) =>
    (Object.keys(writes) as Array<keyof typeof writes>).flatMap((kind) => [false, true].map((tie) => [via, kind, tie] as const)),
  );

  it.each(cases)('a fresh node whose id sorts first joins a one-node cluster holding %s… (%s, versions tied: %s)', async (via, kind, tie) => {
    const written = await start('b');
    await writes[kind].write(written);
    // 'a' sorts before 'b'; it never wrote any data.
    const fresh = await start('a');
    if (tie) {
      await fresh.setFanout(3);
      expect(fresh.version).toBe(written.version);
    }
    const before = Math.max(fresh.version, written.version);
    if (via === 'fresh.join(written)') await fresh.join(written.id);
    else await written.join(fresh.id);
    await eventually(() => fresh.nodes.length === 2 && written.nodes.length === 2 && fresh.version === written.version);
    writes[kind].check(fresh);
    writes[kind].check(written);
    expect(fresh.version).toBe(before + 1);
    // And Redis holds it too: a node that starts later reads it there.
    const caller = via === 'fresh.join(written)' ? fresh : written;
    const hash = await readClusterHash(client(), namespace(), caller.rumor.cluster);
    expect(Object.keys(hash).some((f) => f === 'd' || f.startsWith('k:'))).toBe(true);
  });

  it.each(['never-written.join(written)', 'written.join(never-written)'] as const)('a cluster never written never wins, even at a higher version (%s)', async (via) => {
    const nw = await start('nw');
    const nw2 = await start('nw2');
    await nw.join(nw2.id);
    for (let i = 0; i < 5; i++) await nw.setGossipInterval(1_000 + i);
    const w = await start('w');
    await w.set({ kept: true });
    expect(nw.version).toBeGreaterThan(w.version);
    const before = nw.version;
    if (via === 'never-written.join(written)') await nw2.join(w.id);
    else await w.join(nw2.id);
    const all = [nw, nw2, w];
    await eventually(() => all.every((n) => n.nodes.length === 3 && n.version === before + 1));
    for (const n of all) expect(n.get()).toEqual({ kept: true });
  });

  it.each(['X.join(Y)', 'Y.join(X)'] as const)('two clusters that each hold config keys keep every key of both (%s)', async (via) => {
    const [x1, x2] = [await start('x1'), await start('x2')];
    await x1.join(x2.id);
    const [y1, y2] = [await start('y1'), await start('y2')];
    await y1.join(y2.id);
    await x1.setCfg('fromX1', 1);
    await x2.setCfg('fromX2', 2);
    await y1.patchCfg({ fromY1: 3, alsoY1: 'y' });
    await y2.setCfg('fromY2', 4);
    if (via === 'X.join(Y)') await x2.join(y2.id);
    else await y2.join(x2.id);
    const all = [x1, x2, y1, y2];
    await eventually(() => all.every((n) => n.nodes.length === 4 && n.version === all[0]!.version));
    const expected = { fromX1: 1, fromX2: 2, fromY1: 3, alsoY1: 'y', fromY2: 4 };
    for (const n of all) expect(n.get()).toEqual(expected);
    // Every member holds the same object, keys in the same order.
    const order = Object.keys(all[0]!.get() as object);
    for (const n of all) expect(Object.keys(n.get() as object)).toEqual(order);
    const hash = await readClusterHash(client(), namespace(), x1.rumor.cluster);
    expect(
      Object.keys(hash)
        .filter((f) => f.startsWith('k:'))
        .sort(),
    ).toEqual(
      Object.keys(expected)
        .map((k) => `k:${k}`)
        .sort(),
    );
  });

  it.each([
    ['the caller wrote it last', 'caller'],
    ['the joined side wrote it last', 'joined'],
  ] as const)('a key both wrote keeps the later write (%s); keys only one side wrote stay', async (_label, later) => {
    const caller = await start('caller');
    const joined = await start('joined');
    const [first, second] = later === 'caller' ? [joined, caller] : [caller, joined];
    await caller.setCfg('mine', 'caller only');
    await joined.setCfg('theirs', 'joined only');
    await first.setCfg('shared', `from ${first.id} (earlier)`);
    await sleep(5);
    await second.setCfg('shared', `from ${second.id} (later)`);
    await caller.join(joined.id);
    await eventually(() => caller.nodes.length === 2 && joined.nodes.length === 2 && caller.version === joined.version);
    for (const n of [caller, joined]) {
      expect(n.getCfg('shared')).toBe(`from ${second.id} (later)`);
      expect(n.getCfg('mine')).toBe('caller only');
      expect(n.getCfg('theirs')).toBe('joined only');
    }
  });
});

describe('writes on every node', () => {
  it('a write on each of 3 nodes reaches the other two', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    for (const n of nodes) {
      await n.set(`from ${n.id}`);
      await eventually(() => nodes.every((m) => m.get() === `from ${n.id}`));
    }
  });
});

describe('leave', () => {
  it('a node that leaves by itself goes on alone with the data it had', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[0]!.set('before');
    await eventually(() => nodes.every((n) => n.get() === 'before'));
    const leaver = nodes.find((n) => n.leader !== n.id)!;
    const stay = nodes.filter((n) => n !== leaver);
    const { version, cluster: shared } = leaver.rumor;
    await leaver.leave(leaver.id);
    await eventually(() => leaver.nodes.length === 1 && stay.every((n) => n.nodes.length === 2));
    expect(leaver.nodes).toEqual([leaver.id]);
    expect(leaver.leader).toBe(leaver.id);
    expect(leaver.get()).toBe('before');
    // A cluster of its own (a new id), at the version it had + 1: versions never go down.
    expect(leaver.rumor.cluster).not.toBe(shared);
    expect(leaver.version).toBe(version + 1);
    for (const n of stay) expect(n.rumor.cluster).toBe(shared);
    for (const n of stay) expect(n.nodes).not.toContain(leaver.id);
    // The two clusters are separate now: a write on one does not reach the other.
    await stay[0]!.set('after');
    await eventually(() => stay.every((n) => n.get() === 'after'));
    expect(leaver.get()).toBe('before');
  });

  it('another node can remove a member, which then goes on alone', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const [x, y, z] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    await x.leave(z.id);
    await eventually(() => z.nodes.length === 1 && x.nodes.length === 2 && y.nodes.length === 2);
    expect(x.nodes).not.toContain(z.id);
    expect(z.leader).toBe(z.id);
  });

  it('the leader leaving hands over to another member', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const leader = nodes.find((n) => n.leader === n.id)!;
    const rest = nodes.filter((n) => n !== leader);
    await leader.leave(leader.id);
    await eventually(() => rest.every((n) => n.nodes.length === 2 && n.leader !== leader.id && n.leader === rest[0]!.leader));
    await rest[1]!.set('new leader works');
    await eventually(() => rest.every((n) => n.get() === 'new leader works'));
    expect(leader.nodes).toEqual([leader.id]);
  });

  it('a member can be removed while it is down', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const victim = nodes.find((n) => n.leader !== n.id)!;
    const rest = nodes.filter((n) => n !== victim);
    await victim.stop();
    await rest[0]!.leave(victim.id);
    await eventually(() => rest.every((n) => n.nodes.length === 2 && !n.nodes.includes(victim.id)));
    const status = await rest[1]!.status();
    expect(status.ok).toBe(true);
  });
});
