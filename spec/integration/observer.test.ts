import { afterEach, describe, expect, it } from 'vitest';
import { Observer } from '../../lib/index.js';
import type { Rumor } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { cluster, namespace } = useNodes(redis);

let observers: Observer[] = [];
afterEach(async () => {
  await Promise.all(observers.map((o) => o.close()));
  observers = [];
});
async function observe(): Promise<Observer> {
  const o = await Observer.connect({ redis: redis(), namespace: namespace(), rpcTimeoutMs: 1_000 });
  observers.push(o);
  return o;
}

describe('an observer', () => {
  it('sees the members, the leader and the data without joining', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setSync({ seen: true });
    const o = await observe();
    expect(await o.live()).toEqual(['a', 'b', 'c']);
    const { rumor, members } = await o.members();
    expect(rumor?.data).toEqual({ seen: true });
    expect(members.map((m) => [m.nodeId, m.listening, m.version, m.leader]).sort()).toEqual(
      nodes.map((n) => [n.id, true, n.version, n.id === n.leader]).sort(),
    );
    // It is not a member, and not listed anywhere.
    for (const n of nodes) expect(n.nodes).not.toContain(o.id);
  });

  it('writes through the leader, and a stopped member shows as not answering', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const o = await observe();
    const rumor = await o.write({ kind: 'cfg', key: 'from', value: 'observer' });
    expect(rumor.data).toEqual({ from: 'observer' });
    await eventually(() => nodes.every((n) => n.getCfg('from') === 'observer'));
    const victim = nodes.find((n) => n.leader !== n.id)!;
    await victim.stop();
    const { members } = await o.members();
    expect(members.find((m) => m.nodeId === victim.id)).toMatchObject({ listening: false, version: undefined });
  });

  it('watches changes as they happen', async () => {
    const nodes = await cluster(['a', 'b']);
    const o = await observe();
    const seen: Rumor[] = [];
    const stop = o.watch((r) => seen.push(r), 50);
    try {
      await eventually(() => seen.length === 1);
      await nodes[0]!.set('one');
      await eventually(() => seen.at(-1)?.data === 'one');
      await nodes[1]!.set('two');
      await eventually(() => seen.at(-1)?.data === 'two');
    } finally {
      stop();
    }
  });
});
