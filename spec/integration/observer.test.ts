import { afterEach, describe, expect, it } from 'vitest';
import { Observer } from '../../lib/index.js';
import type { Rumor } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

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
    expect(members.map((m) => [m.nodeId, m.listening, m.version, m.leader]).sort()).toEqual(nodes.map((n) => [n.id, true, n.version, n.id === n.leader]).sort());
    // It is not a member, and not listed anywhere.
    for (const n of nodes) expect(n.nodes).not.toContain(o.id);
  });

  it('commits a write with the members’ script: every member gets one change frame, the answer is the state after', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { gossipIntervalMs: 60_000 });
    const o = await observe();
    const version = nodes[0]!.version;
    const changes = () => nodes.map((n) => n.metrics().received.change?.messages ?? 0);
    const otherTraffic = () => nodes.map((n) => Object.entries(n.metrics().received).filter(([type]) => type !== 'change'));
    const before = changes();
    const otherBefore = otherTraffic();
    const rumor = await o.write({ kind: 'cfg', key: 'from', value: 'observer' });
    expect(rumor.data).toEqual({ from: 'observer' });
    expect(rumor.version).toBe(version + 1);
    await eventually(() => nodes.every((n) => n.getCfg('from') === 'observer' && n.version === version + 1));
    // Not a member: the script publishes to every member, the leader included, and nobody was asked to write.
    expect(changes().map((c, i) => c - before[i]!)).toEqual([1, 1, 1]);
    expect(otherTraffic()).toEqual(otherBefore);
    const whole = await o.write({ kind: 'set', data: { replaced: true } });
    expect(whole).toMatchObject({ version: version + 2, data: { replaced: true } });
    const deleted = await o.write({ kind: 'delete', key: 'replaced' });
    expect(deleted).toMatchObject({ version: version + 3, data: {} });
    await eventually(() => nodes.every((n) => n.version === version + 3 && n.getCfg('replaced', 'gone') === 'gone'));
  });

  it('shows a stopped member as not listening and not answering', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const o = await observe();
    const victim = nodes.find((n) => n.leader !== n.id)!;
    await victim.stop();
    const { members } = await o.members();
    expect(members.find((m) => m.nodeId === victim.id)).toMatchObject({ listening: false, version: undefined });
    for (const n of nodes.filter((m) => m !== victim)) expect(members.find((m) => m.nodeId === n.id)).toMatchObject({ listening: true, version: n.version });
  });

  it('reads the namespace’s main cluster: the largest live one', async () => {
    await start('loner');
    const nodes = await cluster(['a', 'b']);
    await nodes[0]!.setSync('main');
    const o = await observe();
    const rumor = await o.rumor();
    expect(rumor).toMatchObject({ cluster: nodes[0]!.rumor.cluster, data: 'main', version: nodes[0]!.version });
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

  it('stops its watches when it closes: no poll after close()', async () => {
    const nodes = await cluster(['a', 'b']);
    const polls: unknown[][] = [];
    const quiet = () => undefined;
    const o = await Observer.connect({
      redis: redis(),
      namespace: namespace(),
      logger: { debug: (...args) => polls.push(args), info: quiet, warn: quiet, error: quiet },
    });
    const seen: Rumor[] = [];
    o.watch((r) => seen.push(r), 10);
    await eventually(() => seen.length === 1);
    await o.close();
    await nodes[0]!.setSync('after close');
    // A watch left running would poll a closed connection every 10 ms, and log each failure.
    await new Promise((r) => setTimeout(r, 200));
    expect(polls.filter(([msg]) => msg === 'simple-gossip observer: poll failed')).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  it('without the secret of a cluster that signs its values, its write is refused before it commits anything', async () => {
    const nodes = await cluster(['a', 'b'], { secret: 's3cret' });
    await nodes[0]!.setCfgSync('flag', 'on');
    const version = nodes[0]!.version;
    const observer = await observe();
    await expect(observer.write({ kind: 'cfg', key: 'flag', value: 'forged' })).rejects.toMatchObject({ code: 'secret_required' });
    // Nothing changed, and the members still read and write their state.
    expect(nodes.map((n) => [n.version, n.getCfg('flag')])).toEqual([
      [version, 'on'],
      [version, 'on'],
    ]);
    await nodes[1]!.setCfgSync('flag', 'off');
    expect(nodes[0]!.getCfg('flag')).toBe('off');
  });
});
