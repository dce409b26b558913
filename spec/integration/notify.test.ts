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

  it('a node that is not the leader notifies its subscribers of a change made elsewhere', async () => {
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
});
