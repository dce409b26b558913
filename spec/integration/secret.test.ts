import { describe, expect, it } from 'vitest';
import { BadMessageError, CouldNotConnectError } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);

const client = useClients(redis);

/** Captures every frame published to `channel`. */
async function tap(channel: string): Promise<string[]> {
  const frames: string[] = [];
  const sub = client();
  sub.on('message', (_c: string, m: string) => frames.push(m));
  await sub.subscribe(channel);
  return frames;
}

describe('signed messages', () => {
  it('nodes that share a secret form a cluster and spread writes', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { secret: 's3cret' });
    await nodes[1]!.setSync('signed');
    for (const n of nodes) expect(n.get()).toBe('signed');
  });

  it('a node with another secret cannot be joined and cannot write', async () => {
    const a = await start('a', { secret: 'one' });
    await start('b', { secret: 'two' });
    await expect(a.join('b')).rejects.toBeInstanceOf(CouldNotConnectError);
    expect(a.nodes).toEqual(['a']);
  });

  it('unsigned and forged frames are dropped, counted and reported', async () => {
    const [a, b] = await cluster(['a', 'b'], { secret: 's3cret' });
    const errors: Error[] = [];
    b!.on('error', (e) => void errors.push(e));
    const frames = await tap(`${namespace()}:node:${b!.id}`);
    await a!.setSync({ v: 1 });
    await eventually(() => frames.length > 0);
    const genuine = frames[0]!;
    const version = b!.version;
    const pub = client();
    // The same frame with its payload edited (a higher version, other data).
    const edited = genuine.replace(/"version":(\d+)/, (_m, v: string) => `"version":${Number(v) + 100}`).replace('"v":1', '"v":666');
    expect(edited).not.toBe(genuine);
    await pub.publish(`${namespace()}:node:${b!.id}`, edited);
    // The payload without its signature.
    await pub.publish(`${namespace()}:node:${b!.id}`, genuine.slice(44));
    // A signature made with another secret.
    await pub.publish(`${namespace()}:node:${b!.id}`, `~${'A'.repeat(43)}${genuine.slice(44)}`);
    await eventually(() => (b!.metrics().dropped.bad_signature ?? 0) === 3);
    expect(b!.version).toBe(version);
    expect(b!.get()).toEqual({ v: 1 });
    expect(errors.some((e) => e instanceof BadMessageError && e.reason === 'bad_signature')).toBe(true);
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
