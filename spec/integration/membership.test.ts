import { describe, expect, it } from 'vitest';
import { CouldNotConnectError } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster } = useNodes(redis);

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

  it('the node being joined keeps its data when its version is higher', async () => {
    const a = await start('a');
    const b = await start('b');
    for (let i = 0; i < 5; i++) await b.set(`b-${i}`);
    await a.set('a-data');
    await a.join('b');
    await eventually(() => a.nodes.length === 2 && b.nodes.length === 2 && a.version === b.version);
    expect(a.get()).toBe('b-4');
    expect(b.get()).toBe('b-4');
  });

  it('a join called on a non-leader goes through the leader', async () => {
    const [a, b] = await cluster(['a', 'b']);
    const c = await start('c');
    const follower = a!.leader === 'a' ? b! : a!;
    await follower.join('c');
    await eventually(() => [a!, b!, c].every((n) => n.nodes.length === 3));
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
    await leaver.leave(leaver.id);
    await eventually(() => leaver.nodes.length === 1 && stay.every((n) => n.nodes.length === 2));
    expect(leaver.nodes).toEqual([leaver.id]);
    expect(leaver.leader).toBe(leaver.id);
    expect(leaver.get()).toBe('before');
    for (const n of stay) expect(n.nodes).not.toContain(leaver.id);
    // The two clusters are separate now: a write on one does not reach the other.
    await stay[0]!.set('after');
    await eventually(() => stay.every((n) => n.get() === 'after'));
    expect(leaver.get()).toBe('before');
  });

  it('another node can remove a member, which then goes on alone', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const [x, y, z] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
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
