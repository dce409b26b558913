import { describe, expect, it } from 'vitest';
import type { Rumor } from '../../lib/index.js';
import { useNodes, eventually, nextEvent } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster } = useNodes(redis);

describe('notifications', () => {
  it('a subscriber gets the data and version of every change', async () => {
    const a = await start('a');
    const seen: Array<{ data: unknown; version: number }> = [];
    a.subscribe((e) => seen.push(e));
    await a.set('one');
    await a.set('two');
    await eventually(() => seen.length === 2);
    expect(seen).toEqual([
      { data: 'one', version: 2 },
      { data: 'two', version: 3 },
    ]);
  });

  it('subscribing the same handler twice delivers once', async () => {
    const a = await start('a');
    let calls = 0;
    const handler = () => void calls++;
    a.subscribe(handler);
    a.subscribe(handler);
    await a.set(1);
    await a.set(2);
    await eventually(() => calls >= 2);
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);
  });

  it('unsubscribe stops delivery, and the returned function does too', async () => {
    const a = await start('a', { eventMode: 'sync' });
    const first: unknown[] = [];
    const second: unknown[] = [];
    const h1 = (e: { data: unknown }) => void first.push(e.data);
    a.subscribe(h1);
    const off = a.subscribe((e) => void second.push(e.data));
    await a.set(1);
    a.unsubscribe(h1);
    off();
    await a.set(2);
    expect(first).toEqual([1]);
    expect(second).toEqual([1]);
  });

  it('a data subscriber is not called when only membership changes; a rumor subscriber is', async () => {
    const a = await start('a', { eventMode: 'sync' });
    const b = await start('b');
    const data: unknown[] = [];
    const rumors: Rumor[] = [];
    a.subscribe((e) => void data.push(e.data));
    a.subscribe((r) => void rumors.push(r), 'rumor');
    await a.join(b.id);
    expect(data).toEqual([]);
    expect(rumors.at(-1)?.nodes).toEqual(['b', 'a']);
  });

  it('a member notifies its subscribers of a change another member committed', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const follower = nodes.find((n) => n.leader !== n.id)!;
    const other = nodes.find((n) => n !== follower)!;
    const event = nextEvent<{ data: unknown; version: number }>((h) => follower.subscribe(h));
    await other.set('hello');
    await expect(event).resolves.toMatchObject({ data: 'hello' });
  });

  it('a subscriber that throws does not stop the others and is reported on error', async () => {
    const a = await start('a', { eventMode: 'sync' });
    const errors: Error[] = [];
    const seen: unknown[] = [];
    a.on('error', (e) => void errors.push(e));
    a.subscribe(() => {
      throw new Error('subscriber bug');
    });
    a.subscribe((e) => void seen.push(e.data));
    await a.set('x');
    expect(seen).toEqual(['x']);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['subscriber_failed']);
    expect(a.get()).toBe('x');
  });

  it('sync mode delivers before set() resolves; async mode after', async () => {
    const s = await start('s', { eventMode: 'sync' });
    const as = await start('as', { eventMode: 'async' });
    const order: string[] = [];
    s.subscribe(() => void order.push('sync event'));
    as.subscribe(() => void order.push('async event'));
    const pending = s.set(1).then(() => order.push('sync set resolved'));
    await pending;
    const direct = as.set(1);
    await direct;
    order.push('async set resolved');
    await eventually(() => order.includes('async event'));
    expect(order.indexOf('sync event')).toBeLessThan(order.indexOf('sync set resolved'));
    expect(order.indexOf('async event')).toBeGreaterThan(order.indexOf('async set resolved'));
  });

  it('a subscriber never sees a version twice or out of order, while two members write at once', async () => {
    const [a, b, c] = await cluster(['a', 'b', 'c']);
    const versions: number[] = [];
    c!.subscribe((e) => void versions.push(e.version));
    await Promise.all(
      [a, b].map(async (n, i) => {
        for (let k = 0; k < 20; k++) await n!.set(`${i}-${k}`);
      }),
    );
    await eventually(() => c!.version === a!.version && c!.version === b!.version);
    await new Promise((r) => setImmediate(r));
    expect(versions.length).toBeGreaterThan(0);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
    expect(versions.at(-1)).toBe(c!.version);
  });
});

describe('onKey', () => {
  it('is called with the value and the version when that key changes, on the writer and on the others', async () => {
    const [a, b] = await cluster(['a', 'b'], { eventMode: 'sync' });
    const onA: Array<[unknown, number]> = [];
    const onB: Array<[unknown, number]> = [];
    a!.onKey('limit', (value, { version }) => void onA.push([value, version]));
    b!.onKey('limit', (value, { version }) => void onB.push([value, version]));
    await a!.setCfg('limit', 10);
    const v1 = a!.version;
    await b!.setCfg('limit', 20);
    const v2 = b!.version;
    await a!.deleteCfg('limit');
    const v3 = a!.version;
    const expected = [
      [10, v1],
      [20, v2],
      [undefined, v3],
    ];
    await eventually(() => onA.length === 3 && onB.length === 3);
    expect(onA).toEqual(expected);
    expect(onB).toEqual(expected);
  });

  it('is not called for other keys, nor when a write leaves the key’s value as it was', async () => {
    const a = await start('a', { eventMode: 'sync' });
    const calls: unknown[] = [];
    await a.setCfg('limit', 1);
    a.onKey('limit', (value) => void calls.push(value));
    await a.setCfg('other', 'x');
    await a.patchCfg({ other: 'y', third: 3 });
    await a.deleteCfg('other');
    await a.setCfg('limit', 1);
    await a.patchCfg({ limit: 1, other: 'z' });
    expect(calls).toEqual([]);
    await a.setCfg('limit', 2);
    expect(calls).toEqual([2]);
  });

  it('is not called when a key is set again to an equal object', async () => {
    const [a, b] = await cluster(['a', 'b'], { eventMode: 'sync' });
    await a!.setCfg('limits', { rps: 10 });
    await eventually(() => b!.version === a!.version);
    const calls: string[] = [];
    a!.onKey('limits', () => void calls.push('writer'));
    b!.onKey('limits', () => void calls.push('other'));
    await a!.setCfg('limits', { rps: 10 });
    await eventually(() => b!.version === a!.version);
    expect(calls).toEqual([]);
  });

  it('stops after its unsubscribe, and only that listener stops', async () => {
    const a = await start('a', { eventMode: 'sync' });
    const gone: unknown[] = [];
    const stays: unknown[] = [];
    const off = a.onKey('k', (v) => void gone.push(v));
    a.onKey('k', (v) => void stays.push(v));
    await a.setCfg('k', 1);
    off();
    off();
    await a.setCfg('k', 2);
    expect(gone).toEqual([1]);
    expect(stays).toEqual([1, 2]);
  });

  it('a listener that throws is reported on error and does not stop the others or the node', async () => {
    const a = await start('a', { eventMode: 'sync' });
    const errors: Error[] = [];
    const seen: unknown[] = [];
    a.on('error', (e) => void errors.push(e));
    a.onKey('k', () => {
      throw new Error('listener bug');
    });
    a.onKey('k', (v) => void seen.push(v));
    await a.setCfg('k', 'v');
    expect(seen).toEqual(['v']);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['subscriber_failed']);
    expect(a.getCfg('k')).toBe('v');
  });
});
