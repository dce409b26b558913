import { describe, expect, it } from 'vitest';
import { MessageTooLargeError } from '../../lib/index.js';
import { useNodes, eventually } from '../support/cluster.js';
import { readClusterHash } from '../support/keys.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);
const client = useClients(redis);

describe('set and get', () => {
  it('a lone node reads back what it set, deep-frozen', async () => {
    const a = await start('a');
    expect(a.get()).toBeUndefined();
    expect(a.version).toBe(1);
    await a.set({ hello: 'world', n: [1, 2] });
    expect(a.get()).toEqual({ hello: 'world', n: [1, 2] });
    expect(Object.isFrozen(a.get())).toBe(true);
    expect(Object.isFrozen((a.get() as { n: number[] }).n)).toBe(true);
    expect(a.version).toBe(2);
  });

  it('set copies the value, so the caller keeps a mutable object of its own', async () => {
    const a = await start('a');
    const mine = { list: [1] };
    await a.set(mine);
    mine.list.push(2);
    expect(Object.isFrozen(mine)).toBe(false);
    expect(a.get()).toEqual({ list: [1] });
  });

  it('set(undefined) clears the data', async () => {
    const a = await start('a');
    await a.set(42);
    await a.set(undefined);
    expect(a.get()).toBeUndefined();
  });

  it('a write on a non-leader is readable at once on the writer and reaches every member, with no request to the leader', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const writer = nodes.find((n) => n.leader !== n.id)!;
    const leader = nodes.find((n) => n.leader === n.id)!;
    const leaderReceived = () => Object.entries(leader.metrics().received).filter(([type]) => type !== 'change' && type !== 'head');
    const before = leaderReceived();
    await writer.set('from a follower');
    expect(writer.get()).toBe('from a follower');
    await eventually(() => nodes.every((n) => n.get() === 'from a follower'));
    // One commit script: the writer asked nobody, the leader got only the change (like every member).
    expect(writer.metrics().rpc).toEqual({});
    expect(leaderReceived()).toEqual(before);
  });

  it('a cyclic value is carried whole', async () => {
    const [a, b] = await cluster(['a', 'b']);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    await a!.set(cyclic);
    await eventually(() => (b!.get() as { name?: string } | undefined)?.name === 'loop');
    const got = b!.get() as Record<string, unknown>;
    expect(got.self).toBe(got);
  });

  it('a value too large to send is refused before anything is sent', async () => {
    const a = await start('a', { maxMessageBytes: 2048 });
    await expect(a.set('x'.repeat(4096))).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(a.version).toBe(1);
  });

  it('a value that cannot be serialised is refused with a TypeError', async () => {
    const a = await start('a');
    await expect(a.set({ f: () => 1 })).rejects.toThrow(new TypeError('value.f is a function, which cannot be sent to other nodes'));
    await expect(a.set({ list: [Symbol('x')] })).rejects.toThrow(/value\.list\[0\] is a symbol/);
    await expect(
      a.set({
        at: new (class Point {
          x = 1;
        })(),
      }),
    ).rejects.toThrow(/class Point/);
    await expect(a.set(JSON.parse('{"cfg":{"__proto__":{"admin":true}}}'))).rejects.toThrow(/key named "__proto__"/);
    expect(a.version).toBe(1);
    expect(a.get()).toBeUndefined();
  });
});

describe('set with an updater', () => {
  it('applies a change computed from the current value', async () => {
    const a = await start<{ text: string; n: number }>('a');
    await a.set({ text: 'hello', n: 3 });
    await a.set((cur) => ({ change: { text: cur!.text, n: cur!.n + (10 - (cur!.n % 10)) } }));
    expect(a.get()).toEqual({ text: 'hello', n: 10 });
  });

  it('no_change keeps data and version', async () => {
    const a = await start<number>('a');
    await a.set(10);
    const version = a.version;
    await a.set(() => 'no_change');
    expect(a.get()).toBe(10);
    expect(a.version).toBe(version);
  });

  it('runs on a non-leader against the latest value and lands on every node', async () => {
    const nodes = await cluster<number>(['a', 'b', 'c']);
    const follower = nodes.find((n) => n.leader !== n.id)!;
    await nodes[0]!.set(1);
    await follower.set((cur) => ({ change: (cur ?? 0) + 1 }));
    expect(follower.get()).toBe(2);
    await eventually(() => nodes.every((n) => n.get() === 2));
  });

  it('hands back the values it holds as they are: their stored texts unchanged, the other members given equal values', async () => {
    const [a, b] = await cluster<Record<string, unknown>>(['a', 'b']);
    const texts = async () => {
      const hash = await readClusterHash(client(), namespace(), a!.rumor.cluster);
      return Object.fromEntries(Object.entries(hash).flatMap(([f, raw]) => (f.startsWith('k:') ? [[f, raw.replace(/^\d+:\d+:[A-Za-z0-9_-]*:/, '')]] : [])));
    };
    await a!.setSync({ when: new Date(0), tags: new Set(['x']), limits: { rps: 10, burst: [1, 2] }, n: 1 });
    const before = await texts();
    // An updater's spread hands back the frozen values a holds: a Date, a Set (superjson) and a plain object.
    await a!.setSync((cur) => ({ change: { ...cur, n: 2 } }));
    await a!.patchCfg({ limits: a!.get()!.limits, extra: true });
    const after = await texts();
    for (const key of ['k:when', 'k:tags', 'k:limits']) expect(after[key]).toBe(before[key]);
    expect(after['k:n']).toBe('=2');
    await eventually(() => b!.version === a!.version);
    expect(b!.get()).toEqual({ when: new Date(0), tags: new Set(['x']), limits: { rps: 10, burst: [1, 2] }, n: 2, extra: true });
  });

  it('a held value is written back with the text it was read with, not serialised again', async () => {
    let a = await start<Record<string, unknown>>('a');
    await a.set({ n: 1, odd: { x: 1 } });
    const cluster = a.rumor.cluster;
    await a.stop();
    // A text JSON.stringify would not write for its value: integer-like keys come first in a JS object.
    const key = `{${namespace()}}:cluster:${cluster}`;
    const raw = (await client().hget(key, 'k:odd'))!;
    await client().hset(key, 'k:odd', raw.replace(/=\{"x":1\}$/, '={"b":1,"1":2}'));
    a = await start<Record<string, unknown>>('a');
    expect(a.get()).toEqual({ n: 1, odd: { 1: 2, b: 1 } });
    await a.set((cur) => ({ change: { ...cur, n: 2 } }));
    expect(await client().hget(key, 'k:odd')).toMatch(/:=\{"b":1,"1":2\}$/);
    expect(await client().hget(key, 'k:n')).toMatch(/:=2$/);
  });

  it('an updater that throws rejects its own set and no other', async () => {
    const a = await start<number>('a');
    await a.set(1);
    const bad = a.set(() => {
      throw new Error('boom');
    });
    const good = a.set((cur) => ({ change: cur! + 1 }));
    await expect(bad).rejects.toThrow('boom');
    await good;
    expect(a.get()).toBe(2);
  });
});

describe('setSync', () => {
  it('resolves once every member holds the written version', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const follower = nodes.find((n) => n.leader !== n.id)!;
    await follower.setSync({ v: 1 });
    for (const n of nodes) expect(n.get()).toEqual({ v: 1 });
  });
});

describe('config mode', () => {
  it('getCfg returns the default for a missing key and the value once set', async () => {
    const a = await start('a');
    expect(a.getCfg('key', 'default_value')).toBe('default_value');
    await a.setCfg('key', 'some_random_value');
    expect(a.getCfg('key', 'default_value')).toBe('some_random_value');
    expect(a.getCfg('other')).toBeUndefined();
  });

  it('setCfgSync lands on every member', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setCfgSync('flag', true);
    await nodes[2]!.setCfgSync('limit', 10);
    for (const n of nodes) {
      expect(n.getCfg('flag', false)).toBe(true);
      expect(n.getCfg('limit', 0)).toBe(10);
    }
  });

  it('each config key is a field of its own in the cluster’s hash; a setCfg rewrites only its key', async () => {
    const a = await start('a');
    await a.setCfg('one', 1);
    await a.setCfg('two', 2);
    const hashOf = () => readClusterHash(client(), namespace(), a.rumor.cluster);
    const before = await hashOf();
    expect(before.mode).toBe('c');
    expect(
      Object.keys(before)
        .filter((f) => f.startsWith('k:'))
        .sort(),
    ).toEqual(['k:one', 'k:two']);
    await a.setCfg('two', 22);
    const after = await hashOf();
    expect(after['k:one']).toBe(before['k:one']);
    expect(after['k:two']).not.toBe(before['k:two']);
  });

  it('a data value that is not an object of keys is a TypeError', async () => {
    const a = await start('a');
    await a.set(5);
    await expect(a.setCfg('k', 1)).rejects.toBeInstanceOf(TypeError);
    expect(() => a.getCfg('k')).toThrow(TypeError);
    expect(a.get()).toBe(5);
  });
});

describe('patchCfg', () => {
  it('sets several keys and removes those given undefined, in one commit: one version bump, on every member', async () => {
    const nodes = await cluster(['a', 'b', 'c'], { gossipIntervalMs: 60_000 });
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await a.setCfgSync('gone', 'soon');
    await a.setCfgSync('kept', 'as is');
    const version = a.version;
    const changes = () => nodes.map((n) => n.metrics().received.change?.messages ?? 0);
    const before = changes();
    await b.patchCfg({ x: 1, y: { deep: true }, gone: undefined });
    expect(b.version).toBe(version + 1);
    expect(b.get()).toEqual({ kept: 'as is', x: 1, y: { deep: true } });
    await eventually(() => nodes.every((n) => n.version === version + 1));
    for (const n of nodes) {
      expect(n.get()).toEqual({ kept: 'as is', x: 1, y: { deep: true } });
      expect(n.getCfg('gone', 'default')).toBe('default');
    }
    // One change frame on each other member, none on the writer.
    expect(changes().map((c, i) => c - before[i]!)).toEqual(nodes.map((n) => (n === b ? 0 : 1)));
    const hash = await readClusterHash(client(), namespace(), b.rumor.cluster);
    expect(
      Object.keys(hash)
        .filter((f) => f.startsWith('k:'))
        .sort(),
    ).toEqual(['k:kept', 'k:x', 'k:y']);
  });

  it('touches no other key: patches from two members at once both land, none conflicts', async () => {
    const nodes = await cluster(['a', 'b']);
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    await a.setSync({ shared: 0 });
    const version = a.version;
    await Promise.all([...Array.from({ length: 10 }, (_, i) => a.patchCfg({ [`a${i}`]: i, [`a${i}-extra`]: true })), ...Array.from({ length: 10 }, (_, i) => b.patchCfg({ [`b${i}`]: i }))]);
    // Each node's calls made while its commit was in flight went out together: 2 to 20 versions, and the members agree.
    await eventually(() => a.version === b.version && a.version > version + 1);
    expect(a.version).toBeLessThanOrEqual(version + 20);
    for (const n of nodes) {
      const data = n.get() as Record<string, unknown>;
      expect(Object.keys(data)).toHaveLength(1 + 20 + 10);
      expect(data.shared).toBe(0);
      for (let i = 0; i < 10; i++) expect([data[`a${i}`], data[`a${i}-extra`], data[`b${i}`]]).toEqual([i, true, i]);
    }
    expect(a.get()).toEqual(b.get());
  });

  it('removing only keys that are not there changes nothing (no version bump)', async () => {
    const a = await start('a');
    await a.setCfg('k', 1);
    const version = a.version;
    await a.patchCfg({ missing: undefined, alsoMissing: undefined });
    expect(a.version).toBe(version);
    expect(a.get()).toEqual({ k: 1 });
  });

  it('on data that is not an object of keys is a TypeError, and changes nothing', async () => {
    const a = await start('a');
    await a.set([1, 2]);
    const version = a.version;
    await expect(a.patchCfg({ k: 1 })).rejects.toBeInstanceOf(TypeError);
    expect(a.version).toBe(version);
    expect(a.get()).toEqual([1, 2]);
  });
});
