import { describe, expect, it } from 'vitest';
import { eventually, useNodes } from '../support/cluster.js';
import { keysOf } from '../support/keys.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);
const client = useClients(redis);

describe('status', () => {
  it('is ok with the version, leader and members when every member agrees', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setSync('x');
    const s = await nodes[2]!.status();
    expect(s).toEqual({ ok: true, version: nodes[2]!.version, leader: nodes[2]!.leader, nodes: nodes[2]!.nodes });
  });

  it('of a lone node is ok', async () => {
    const a = await start('a');
    expect(await a.status()).toEqual({ ok: true, version: 1, leader: 'a', nodes: ['a'] });
  });

  it('times out naming a member that is down, and says so at once', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const victim = nodes.find((n) => n.leader !== n.id)!;
    const asker = nodes.find((n) => n !== victim)!;
    await victim.stop();
    const t0 = Date.now();
    const s = await asker.status();
    expect(s).toEqual({ ok: false, error: 'timeout', unresponsive: [victim.id], leader: asker.leader, nodes: asker.nodes });
    // Nobody listens on a stopped member's channel: no need to wait for the timeout.
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('metrics: a write is one change frame on each other member (changes.applied); setSync hears from each member in one ack, no request; status() asks (vsn requests); no write request, push or v1 counter exists', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { gossipIntervalMs: 60_000 });
    const follower = nodes.find((n) => n.leader !== n.id)!;
    const others = nodes.filter((n) => n !== follower);
    const changes = () => nodes.map((n) => n.metrics().received.change?.messages ?? 0);
    const applied = () => nodes.map((n) => n.metrics().counters['changes.applied'] ?? 0);
    const [changesBefore, appliedBefore] = [changes(), applied()];
    await follower.setSync('x');
    const delta = (now: number[], before: number[]) => nodes.map((n, i) => [n.id, now[i]! - before[i]!]);
    const expected = nodes.map((n) => [n.id, n === follower ? 0 : 1]);
    expect(delta(changes(), changesBefore)).toEqual(expected);
    expect(delta(applied(), appliedBefore)).toEqual(expected);
    const synced = follower.metrics();
    expect(synced.rpc).toEqual({});
    expect(synced.received.ack!.messages).toBe(others.length);
    for (const o of others) expect(o.metrics().sent.ack!.messages).toBe(1);
    // A plain set() asks for no ack.
    await follower.set('y');
    await eventually(() => others.every((o) => o.get() === 'y'));
    for (const o of others) expect(o.metrics().sent.ack!.messages).toBe(1);
    await follower.status();
    const m = follower.metrics();
    expect(Object.keys(m.rpc)).toEqual(['vsn']);
    expect(m.rpc.vsn).toMatchObject({ calls: others.length, answered: others.length, timeouts: 0, noListener: 0 });
    expect(m.rpc.vsn!.totalMs).toBeGreaterThan(0);
    expect(m.rpc.vsn!.maxMs).toBeGreaterThan(0);
    expect(m.sent.vsn!.messages).toBe(others.length);
    for (const o of others) expect(o.metrics().received.vsn!.messages).toBe(1);
    expect(m.versionLag).toBe(0);
    expect(m).toMatchObject({ version: follower.version, members: 3 });
    for (const n of nodes) {
      const nm = n.metrics();
      for (const table of [nm.sent, nm.received, nm.rpc]) {
        for (const gone of ['write', 'push', 'pull', 'join']) expect(Object.keys(table)).not.toContain(gone);
      }
      expect(Object.keys(nm.counters).filter((c) => /^(leaderCommits|fencedCommits|pushes|reconcile\.)/.test(c))).toEqual([]);
    }
    const victim = others.find((n) => n.leader !== n.id)!;
    await victim.stop();
    await follower.status();
    expect(follower.metrics().rpc.vsn!.noListener).toBe(1);
  });

  it('metrics: a membership change makes the members read the state (changes.read, reads); node key writes are snapshotWrites', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { gossipIntervalMs: 60_000 });
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    for (const n of nodes) {
      const m = n.metrics();
      expect(m.snapshotWrites).toBe(m.counters.nodeKeyWrites);
      expect(m.snapshotWrites).toBeGreaterThanOrEqual(1);
    }
    const before = b.metrics();
    await a.leave(c.id);
    await eventually(() => b.nodes.length === 2);
    const after = b.metrics();
    expect(after.received.change!.messages).toBe(before.received.change!.messages + 1);
    expect(after.counters['changes.read']).toBe((before.counters['changes.read'] ?? 0) + 1);
    expect(after.counters.reads).toBeGreaterThan(before.counters.reads ?? 0);
    expect(after.counters['changes.applied'] ?? 0).toBe(before.counters['changes.applied'] ?? 0);
    expect(after.snapshotWrites).toBe(before.snapshotWrites + 1);
  });

  it('metrics: a change to a version a node already holds counts as changes.stale and changes nothing', async () => {
    const nodes = await cluster(['a', 'b'], { gossipIntervalMs: 60_000 });
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await a.setSync('before');
    const { version, cluster: id } = b.rumor;
    const before = b.metrics().counters;
    // Redis loses the cluster's hash: a's next write restores it at the version both hold (published to b: stale there), then commits.
    await client().del(keysOf(namespace()).cluster(id));
    await a.set('after');
    await eventually(() => b.get() === 'after');
    const after = b.metrics().counters;
    expect(after['changes.stale']).toBe((before['changes.stale'] ?? 0) + 1);
    expect(after['changes.applied']).toBe((before['changes.applied'] ?? 0) + 1);
    expect(b.version).toBe(version + 1);
    expect(b.rumor.cluster).toBe(id);
  });

  it("metrics: each tick is an anti-entropy round that sends this node's head to fanout members", async () => {
    const nodes = await cluster(['a', 'b', 'c'], { gossipIntervalMs: 200, fanout: 1 });
    await new Promise((r) => setTimeout(r, 1_000));
    for (const n of nodes) {
      const m = n.metrics();
      const rounds = m.counters.antiEntropyRounds ?? 0;
      expect(rounds).toBeGreaterThanOrEqual(2);
      // One head per round to one (fanout) member, give or take the round in flight.
      expect(m.sent.head!.messages).toBeGreaterThanOrEqual(rounds - 1);
      expect(m.sent.head!.messages).toBeLessThanOrEqual(rounds + 1);
    }
    const received = nodes.reduce((sum, n) => sum + (n.metrics().received.head?.messages ?? 0), 0);
    const sent = nodes.reduce((sum, n) => sum + (n.metrics().sent.head?.messages ?? 0), 0);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(sent);
  });
});
