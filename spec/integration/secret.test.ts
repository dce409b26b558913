import { describe, expect, it } from 'vitest';
import { BadMessageError, CouldNotConnectError, PersistenceError } from '../../lib/index.js';
import { chainHash } from '../../lib/model/chain.js';
import { Keys } from '../../lib/transport/keys.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

const client = useClients(redis);

/** Captures every change frame published to `channel`. */
async function tap(channel: string): Promise<string[]> {
  const frames: string[] = [];
  const sub = client();
  // Change frames only (the lines a script published), not the envelopes nodes send each other.
  sub.on('message', (_c: string, m: string) => void (m.includes('\n') && frames.push(m)));
  await sub.subscribe(channel);
  return frames;
}

describe('signed messages', () => {
  it('nodes that share a secret form a cluster and spread writes', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { secret: 's3cret' });
    await nodes[1]!.setSync('signed');
    for (const n of nodes) expect(n.get()).toBe('signed');
    // The members' signed acks answered it: no request was needed.
    expect(nodes[1]!.metrics().received.ack?.messages).toBe(2);
    expect(nodes[1]!.metrics().rpc).toEqual({});
  });

  it('a node with another secret cannot be joined and cannot write', async () => {
    const a = await start('a', { secret: 'one' });
    await start('b', { secret: 'two' });
    await expect(a.join('b')).rejects.toBeInstanceOf(CouldNotConnectError);
    expect(a.nodes).toEqual(['a']);
  });

  it('unsigned and forged change frames are dropped, counted and reported', async () => {
    const [a, b] = await cluster(['a', 'b'], { secret: 's3cret' });
    const errors: Error[] = [];
    b!.on('error', (e) => void errors.push(e));
    const channel = new Keys(namespace(), true).node(b!.id);
    const frames = await tap(channel);
    await a!.setSync({ v: 1 });
    await eventually(() => frames.length > 0);
    const genuine = frames[0]!;
    const [header, sig, ...rest] = genuine.split('\n');
    const version = b!.version;
    const pub = client();
    // The same frame with its header pointing one version on and its value edited.
    const next = JSON.parse(header!) as { n: number; h: string; p: string };
    const forgedHeader = JSON.stringify({ ...next, n: version + 1, p: b!.rumor.hash });
    // {v: 1} is stored key by key: the meta line, then the value of v.
    expect(rest).toEqual([expect.stringContaining('"set":["v"]'), '=1']);
    const edited = [forgedHeader, sig, rest[0], '=666'].join('\n');
    await pub.publish(channel, edited);
    // Without its signature.
    await pub.publish(channel, [forgedHeader, '', ...rest].join('\n'));
    // Signed with another secret.
    await pub.publish(channel, [forgedHeader, 'A'.repeat(43), ...rest].join('\n'));
    await eventually(() => (b!.metrics().dropped.bad_signature ?? 0) === 3);
    expect(b!.version).toBe(version);
    expect(b!.get()).toEqual({ v: 1 });
    expect(errors.some((e) => e instanceof BadMessageError && e.reason === 'bad_signature')).toBe(true);
  });

  it('a captured signed change replayed under a forged header, to a running node and to one restarted since, changes nothing', async () => {
    const [a, b] = await cluster(['a', 'b'], { secret: 's3cret' });
    const keys = new Keys(namespace(), true);
    const frames = await tap(keys.node(b!.id));
    await a!.setCfgSync('flag', 'old');
    await eventually(() => frames.length > 0);
    const captured = frames[frames.length - 1]!;
    await a!.setCfgSync('flag', 'new');
    const pub = client();
    /** The captured change, dressed as the next change after what `node` holds now. */
    const replay = (node: typeof b) => {
      const [header, ...rest] = captured.split('\n');
      const meta = rest[1]!;
      const h = JSON.parse(header!) as Record<string, unknown>;
      const n = node!.version + 1;
      const p = node!.rumor.hash;
      return [JSON.stringify({ ...h, n, p, h: chainHash(p, n, meta) }), ...rest].join('\n');
    };
    await pub.publish(keys.node(b!.id), replay(b));
    await eventually(() => (b!.metrics().dropped.replay ?? 0) >= 1);
    expect(b!.getCfg('flag')).toBe('new');

    // Restarted, its memory of write ids is gone: Redis's write records decide.
    await b!.stop();
    const back = await start('b', { secret: 's3cret' });
    expect(back.getCfg('flag')).toBe('new');
    const version = back.version;
    await pub.publish(keys.node(back.id), replay(back));
    await eventually(() => (back.metrics().dropped.replay ?? 0) >= 1);
    expect(back.version).toBe(version);
    expect(back.getCfg('flag')).toBe('new');
  });

  it('a forged value written straight into the state in Redis is refused by every reader: reported, the node keeps its data', async () => {
    const [a, b] = await cluster(['a', 'b'], { secret: 's3cret' });
    await a!.setCfgSync('limit', 10);
    const errors: Error[] = [];
    b!.on('error', (e) => void errors.push(e));
    const keys = new Keys(namespace(), true);
    const probe = client();
    const cluster_ = keys.cluster(b!.rumor.cluster);
    // An unsigned value and a bumped version, as a client with write access to the keys could do.
    await probe.hset(cluster_, 'k:limit', `1:${Date.now()}::=9999`, 'v', String(b!.version + 1));
    await expect(start('c', { secret: 's3cret' }).then((c) => c.join('a'))).rejects.toThrow();
    // b's tick finds Redis ahead and reads it: the forged field makes it refuse the state.
    await eventually(() => errors.some((e) => e instanceof PersistenceError && /not signed/.test(e.message)), 5_000);
    expect(b!.getCfg('limit')).toBe(10);
  });

  it('a list of secrets lets a cluster rotate: the first signs, any is accepted', async () => {
    // Step 1 of a rotation: old nodes sign with v1; upgraded ones still sign with v1 but accept v2.
    const old = await start('old', { secret: 'v1' });
    const both = await start('both', { secret: ['v1', 'v2'] });
    await old.join('both');
    await both.setSync('step 1');
    expect(old.get()).toBe('step 1');
    // Step 2: a node that signs with v2 talks to nodes that accept v2 …
    const next = await start('next', { secret: ['v2', 'v1'] });
    await next.join('both');
    await eventually(() => next.nodes.length === 3 && next.get() === 'step 1');
    // … but a node that still accepts only v1 drops what it signs.
    const before = old.metrics().dropped.bad_signature ?? 0;
    await expect(next.status()).resolves.toMatchObject({ ok: false, error: 'timeout', unresponsive: ['old'] });
    expect(old.metrics().dropped.bad_signature ?? 0).toBeGreaterThan(before);
  });
});
