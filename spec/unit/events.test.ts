import { describe, expect, it, vi } from 'vitest';
import type { Mock } from 'vitest';
import { AUTO_SYNC_THRESHOLD } from '../../lib/constants.js';
import { SubscriberError } from '../../lib/errors.js';
import { EventBus } from '../../lib/events.js';
import type { EventMode, Logger } from '../../lib/options.js';

type Data = { readonly data: number | undefined; readonly version: number };

const logger = (): { [K in keyof Logger]: Mock<Logger[K]> } => ({
  debug: vi.fn(),
  info: vi.fn(),
  warn: vi.fn(),
  error: vi.fn(),
});

const bus = (mode: EventMode, log: Logger = logger()): EventBus<number> => new EventBus<number>(mode, log);
const ev = (version: number): Data => ({ data: version * 10, version });
/** Lets every pending setImmediate callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('EventBus delivery modes', () => {
  it('sync delivers before emit returns', () => {
    const b = bus('sync');
    const seen: number[] = [];
    b.on('data', (e) => seen.push(e.version));
    b.emit('data', ev(1));
    expect(seen).toEqual([1]);
  });

  it('async delivers on a later tick, in order', async () => {
    const b = bus('async');
    const seen: number[] = [];
    b.on('data', (e) => seen.push(e.version));
    for (let v = 1; v <= 10; v++) b.emit('data', ev(v));
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual([]);
    await settle();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('async keeps the order across event types', async () => {
    const b = bus('async');
    const seen: string[] = [];
    b.on('data', (e) => seen.push(`data ${e.version}`));
    b.on('rumor', (r) => seen.push(`rumor ${r.version}`));
    b.emit('rumor', { cluster: 'a@1', version: 1, hash: 'h1', data: 1, leader: 'a', nodes: ['a'], fanout: 2, gossipIntervalMs: 1 });
    b.emit('data', ev(1));
    b.emit('rumor', { cluster: 'a@1', version: 2, hash: 'h2', data: 2, leader: 'a', nodes: ['a'], fanout: 2, gossipIntervalMs: 1 });
    await settle();
    expect(seen).toEqual(['rumor 1', 'data 1', 'rumor 2']);
  });

  it('auto is async while few events are queued', async () => {
    const b = bus('auto');
    const seen: number[] = [];
    b.on('data', (e) => seen.push(e.version));
    for (let v = 1; v <= AUTO_SYNC_THRESHOLD; v++) b.emit('data', ev(v));
    expect(seen).toEqual([]);
    await settle();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('auto switches to sync above 3 queued events, keeps the order, and back to async once drained', async () => {
    expect(AUTO_SYNC_THRESHOLD).toBe(3);
    const b = bus('auto');
    const seen: number[] = [];
    b.on('data', (e) => seen.push(e.version));
    b.emit('data', ev(1));
    b.emit('data', ev(2));
    b.emit('data', ev(3));
    expect(seen).toEqual([]);
    b.emit('data', ev(4));
    expect(seen).toEqual([1, 2, 3, 4]);
    b.emit('data', ev(5));
    expect(seen).toEqual([1, 2, 3, 4]);
    await settle();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('EventBus handlers', () => {
  it('a handler registered twice runs once', () => {
    const b = bus('sync');
    const h = vi.fn();
    b.on('data', h);
    b.on('data', h);
    b.emit('data', ev(1));
    expect(h).toHaveBeenCalledTimes(1);
    expect(h).toHaveBeenCalledWith(ev(1));
  });

  it('the same handler may listen to two event types', () => {
    const b = bus('sync');
    const h = vi.fn();
    b.on('data', h);
    b.on('error', h);
    b.emit('data', ev(1));
    b.emit('error', new Error('x'));
    expect(h).toHaveBeenCalledTimes(2);
  });

  it('off removes only that handler, for only that type', () => {
    const b = bus('sync');
    const gone = vi.fn();
    const stays = vi.fn();
    b.on('data', gone);
    b.on('data', stays);
    b.on('error', gone);
    b.off('data', gone);
    b.emit('data', ev(1));
    b.emit('error', new Error('x'));
    expect(stays).toHaveBeenCalledTimes(1);
    expect(gone).toHaveBeenCalledTimes(1);
    expect(gone).toHaveBeenCalledWith(expect.any(Error));
  });

  it('off of a handler that was never registered is harmless', () => {
    const b = bus('sync');
    const h = vi.fn();
    expect(() => b.off('data', vi.fn())).not.toThrow();
    b.on('data', h);
    b.emit('data', ev(1));
    expect(h).toHaveBeenCalledTimes(1);
  });

  it('a handler removed and added again runs again', () => {
    const b = bus('sync');
    const h = vi.fn();
    b.on('data', h);
    b.off('data', h);
    b.on('data', h);
    b.emit('data', ev(1));
    expect(h).toHaveBeenCalledTimes(1);
  });

  it('offAll removes a handler from every type, and has() reports listeners', () => {
    const b = bus('sync');
    const h = vi.fn();
    b.on('data', h);
    b.on('rumor', h);
    expect(b.has('data')).toBe(true);
    expect(b.has('rumor')).toBe(true);
    expect(b.has('error')).toBe(false);
    b.offAll(h);
    expect(b.has('data')).toBe(false);
    expect(b.has('rumor')).toBe(false);
    b.emit('data', ev(1));
    expect(h).not.toHaveBeenCalled();
  });

  it('an event emitted with no handler is dropped quietly', () => {
    const log = logger();
    const b = bus('sync', log);
    expect(() => b.emit('data', ev(1))).not.toThrow();
    expect(log.warn).not.toHaveBeenCalled();
    expect(log.error).not.toHaveBeenCalled();
  });
});

describe('EventBus: a handler that throws', () => {
  it.each(['sync', 'async', 'auto'] as const)('(%s) does not stop the others, and an error event with a SubscriberError is emitted', async (mode) => {
    const b = bus(mode);
    const boom = new Error('boom');
    const before = vi.fn();
    const after = vi.fn();
    const errors: Error[] = [];
    b.on('error', (e) => errors.push(e));
    b.on('data', before);
    b.on('data', () => {
      throw boom;
    });
    b.on('data', after);
    expect(() => b.emit('data', ev(1))).not.toThrow();
    await settle();
    await settle();
    expect(before).toHaveBeenCalledTimes(1);
    expect(after).toHaveBeenCalledTimes(1);
    expect(errors).toHaveLength(1);
    const err = errors[0];
    expect(err).toBeInstanceOf(SubscriberError);
    expect(err).toMatchObject({ code: 'subscriber_failed', event: 'data', cause: boom });
  });

  it('the next events are still delivered', () => {
    const b = bus('sync');
    const seen: number[] = [];
    b.on('error', () => undefined);
    b.on('data', (e) => {
      seen.push(e.version);
      if (e.version === 1) throw new Error('first');
    });
    b.emit('data', ev(1));
    b.emit('data', ev(2));
    expect(seen).toEqual([1, 2]);
  });

  it('a thrown non-Error is wrapped too', () => {
    const b = bus('sync');
    const errors: Error[] = [];
    b.on('error', (e) => errors.push(e));
    b.on('data', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the test is what a thrown non-Error becomes
      throw 'a string';
    });
    b.emit('data', ev(1));
    expect(errors[0]).toBeInstanceOf(SubscriberError);
    expect((errors[0] as SubscriberError).cause).toBe('a string');
  });

  it('with no error handler, the SubscriberError is logged as a warning', () => {
    const log = logger();
    const b = bus('sync', log);
    b.on('data', () => {
      throw new Error('boom');
    });
    expect(() => b.emit('data', ev(1))).not.toThrow();
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(log.warn.mock.calls[0]).toContainEqual(expect.any(SubscriberError));
  });

  it.each(['sync', 'async'] as const)('(%s) an error handler that throws is logged, not thrown', async (mode) => {
    const log = logger();
    const b = bus(mode, log);
    const oops = new Error('error handler broke');
    const other = vi.fn();
    b.on('error', () => {
      throw oops;
    });
    b.on('error', other);
    b.on('data', () => {
      throw new Error('boom');
    });
    expect(() => b.emit('data', ev(1))).not.toThrow();
    expect(() => b.emit('error', new Error('direct'))).not.toThrow();
    await settle();
    await settle();
    // Both error events reached the other error handler; the throws were logged.
    expect(other).toHaveBeenCalledTimes(2);
    expect(log.error).toHaveBeenCalledTimes(2);
    expect(log.error.mock.calls[0]).toContain(oops);
  });
});

describe('EventBus: an event emitted while events are delivered', () => {
  it('waits its turn, so every handler sees the events in order', async () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const bus = new EventBus<number>('auto', logger);
    const seen: number[] = [];
    // Two handlers that throw: each reports an 'error' while the queue is being drained.
    bus.on('data', () => {
      throw new Error('one');
    });
    bus.on('data', () => {
      throw new Error('two');
    });
    bus.on('data', (e) => void seen.push(e.version));
    bus.on('error', () => undefined);
    for (let v = 1; v <= 5; v++) bus.emit('data', { data: v, version: v });
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });
});
