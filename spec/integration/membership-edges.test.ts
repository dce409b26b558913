import { describe, expect, it } from 'vitest';
import { useNodes, eventually } from '../support/cluster.js';
import { readClusterHash, readNodeKey } from '../support/keys.js';
import { useClients, useRedis } from '../support/redis.js';

// Edge cases the model-based test found (v1 found them in its pushes and
// snapshots); v2 keeps the state in the cluster's hash, so each is now about
// what a node that missed a membership change reads there when it comes back.
const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

const client = useClients(redis);

describe('membership edges', () => {
  it('a member that was down when the leader left comes back to the cluster without it; its writes reach the others, not the node that left', async () => {
    const nodes = await cluster(['a', 'b', 'c', 'd']);
    await nodes[0]!.setSync('before');
    const leader = nodes.find((n) => n.leader === n.id)!;
    const [sleeper, ...awake] = nodes.filter((n) => n !== leader) as [(typeof nodes)[0], ...typeof nodes];
    await sleeper.stop();

    await leader.leave(leader.id);
    expect(leader.nodes).toEqual([leader.id]);
    await eventually(() => awake.every((n) => n.nodes.length === 3 && !n.nodes.includes(leader.id)));

    // It missed the leave's change: it reads where its cluster is now when it starts.
    const back = await start(sleeper.id);
    expect([...back.nodes].sort()).toEqual([sleeper.id, ...awake.map((n) => n.id)].sort());
    expect(back.leader).not.toBe(leader.id);
    expect(back.rumor.cluster).toBe(awake[0]!.rumor.cluster);
    await back.set('after');
    expect(back.get()).toBe('after');
    await eventually(() => awake.every((n) => n.get() === 'after'));
    expect(leader.get()).toBe('before');
    expect(leader.rumor.cluster).not.toBe(back.rumor.cluster);
  });

  it('a member removed while down restarts alone with its cluster’s newest data, not a former member’s that now runs alone', async () => {
    const nodes = await cluster(['a', 'b', 'c', 'd']);
    await nodes[0]!.setSync('shared');
    const [w, x, loner, victim] = [...nodes].sort((p, q) => (p.leader === p.id ? -1 : q.leader === q.id ? 1 : 0)) as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    await victim.stop();
    const stale = await readNodeKey(client(), namespace(), victim.id);
    expect(stale.c).toBe(w.rumor.cluster);
    await loner.leave(loner.id);
    for (let i = 0; i < 5; i++) await loner.set(`loner data ${i}`);
    await w.leave(victim.id);
    await eventually(() => [w, x].every((n) => n.nodes.length === 2));
    await w.setSync('cluster data after the removal');
    const clusterVersion = w.version;

    const back = await start(victim.id);
    expect(back.nodes).toEqual([victim.id]);
    expect(back.leader).toBe(victim.id);
    expect(back.get()).toBe('cluster data after the removal');
    // A cluster of its own, above the version it would have had.
    expect([w.rumor.cluster, loner.rumor.cluster]).not.toContain(back.rumor.cluster);
    expect(back.version).toBeGreaterThan(clusterVersion);
    expect((await readClusterHash(client(), namespace(), w.rumor.cluster)).nodes!.split(' ').sort()).toEqual([w.id, x.id].sort());
    expect(w.nodes).not.toContain(victim.id);
  });

  it('a restarting member takes its cluster’s state from Redis, whatever version a former member’s solo cluster has reached', async () => {
    const nodes = await cluster(['n0', 'n1', 'n2']);
    await nodes[0]!.setSync('cluster data');
    const leader = nodes.find((n) => n.leader === n.id)!;
    const [sleeper, other] = nodes.filter((n) => n !== leader) as [(typeof nodes)[0], (typeof nodes)[0]];
    await sleeper.stop();
    await other.leave(leader.id);
    // (If the leave hands the housekeeping to the stopped sleeper, other's tick takes it over.)
    await eventually(() => leader.nodes.length === 1 && other.nodes.length === 2 && other.leader === other.id, 5_000);
    // The former leader, alone now, goes on writing: its solo cluster's version climbs past the sleeper's.
    for (let i = 0; i < 5; i++) await leader.set(`alone-${i}`);
    expect(leader.version).toBeGreaterThan(sleeper.version);
    expect(leader.version).toBeGreaterThan(other.version);
    const back = await start(sleeper.id);
    await eventually(() => back.nodes.length === 2 && other.nodes.length === 2, 3_000);
    expect([...back.nodes].sort()).toEqual([other.id, sleeper.id].sort());
    expect(back.rumor.cluster).toBe(other.rumor.cluster);
    expect(back.version).toBe(other.version);
    expect(back.get()).toBe('cluster data');
  });
});
