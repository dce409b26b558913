import { describe, expect, it } from 'vitest';
import { buildTree } from '../../lib/model/tree.js';
import { chooseLeader } from '../../lib/model/leader.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useClients, useRedis } from '../support/redis.js';

// Edge cases the model-based test found; each is reproduced here on purpose.
const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

const client = useClients(redis);

describe('membership edges', () => {
  it('a leader that left while its push targets were down shows members that still write to it where their cluster is', async () => {
    const nodes = await cluster(['a', 'b', 'c', 'd']);
    await nodes[0]!.setSync('before');
    const leader = nodes.find((n) => n.leader === n.id)!;
    const members = leader.nodes;
    // Everyone the leaving leader would tell: its tree neighbours and the leader it picks next.
    const rest = members.filter((n) => n !== leader.id);
    const told = new Set([...(buildTree(members, leader.rumor.fanout).get(leader.id) ?? []), chooseLeader(rest, leader.id, new Set(), rest[0]!)]);
    const unaware = nodes.find((n) => n !== leader && !told.has(n.id));
    expect(unaware, 'a member the leader does not tell').toBeDefined();
    for (const n of nodes) if (told.has(n.id)) await n.stop();

    await leader.leave(leader.id);
    expect(leader.nodes).toEqual([leader.id]);
    // The unaware member still writes to the node that left: it is shown the way and its write lands in its own cluster.
    await unaware!.set('after');
    expect(unaware!.get()).toBe('after');
    expect(unaware!.nodes).not.toContain(leader.id);
    expect(unaware!.leader).not.toBe(leader.id);
    expect(leader.get()).toBe('before');
  });

  it('a member removed while down is not fooled, when it restarts, by a former member that now runs alone', async () => {
    const nodes = await cluster(['a', 'b', 'c', 'd']);
    await nodes[0]!.setSync('shared');
    const [w, x, loner, victim] = [...nodes].sort((p, q) => (p.leader === p.id ? -1 : q.leader === q.id ? 1 : 0)) as [typeof nodes[0], typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    const probe = client();
    const key = `${namespace()}:snapshot:${victim.id}`;
    await victim.stop();
    const stale = await probe.get(key);
    await loner.leave(loner.id);
    await w.leave(victim.id);
    await eventually(() => [w, x].every((n) => n.nodes.length === 2));
    // The restarted node asks its old members in a random order: try enough times to meet the loner first.
    for (let round = 0; round < 8; round++) {
      await probe.set(key, stale!);
      const back = await start(victim.id);
      await eventually(() => back.nodes.length === 1, 3_000, `round ${round}: the restarted node knows it was removed`);
      expect(back.get()).toBe('shared');
      await back.stop();
    }
  });

  it("a restarting member is not talked out of its cluster by a former leader's newer solo rumor", async () => {
    const nodes = await cluster(['n0', 'n1', 'n2']);
    await nodes[0]!.setSync('cluster data');
    const leader = nodes.find((n) => n.leader === n.id)!;
    const [sleeper, other] = nodes.filter((n) => n !== leader) as [typeof nodes[0], typeof nodes[0]];
    await sleeper.stop();
    await other.leave(leader.id);
    await eventually(() => leader.nodes.length === 1 && other.nodes.length === 2 && other.leader === other.id);
    // The former leader, alone now, goes on writing: its solo rumor climbs past the sleeper's version.
    for (let i = 0; i < 5; i++) await leader.set(`alone-${i}`);
    expect(leader.version).toBeGreaterThan(sleeper.version);
    const back = await start(sleeper.id);
    await eventually(() => back.nodes.length === 2 && other.nodes.length === 2, 3_000);
    expect([...back.nodes].sort()).toEqual([other.id, sleeper.id].sort());
    expect(back.get()).toBe('cluster data');
  });
});
