import { afterEach, describe, expect, it } from 'vitest';
import { roundTrip, serialize } from '../../lib/codec.js';

afterEach(() => {
  // Nothing in here may ever touch Object.prototype.
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

describe('serialize and roundTrip: what superjson carries', () => {
  it('BigInt, Date, Map, Set, undefined, NaN and Infinity survive', () => {
    const value = { big: 2n ** 70n, d: new Date(5), m: new Map([['k', 1]]), s: new Set([1]), u: undefined, n: Number.NaN, i: -Infinity };
    expect(roundTrip(value)).toEqual(value);
  });

  it('a cycle survives as a cycle', () => {
    const value: { name: string; self?: unknown } = { name: 'loop' };
    value.self = value;
    const copy = roundTrip(value);
    expect(copy).not.toBe(value);
    expect(copy.self).toBe(copy);
  });

  it('functions and symbols are dropped silently, not thrown', () => {
    const value = { keep: 1, fn: () => 1, sym: Symbol('s'), list: [() => 2] };
    expect(() => serialize(value)).not.toThrow();
    expect(roundTrip(value)).toEqual({ keep: 1, list: [null] });
  });

  it('a class instance comes back as a plain object', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const copy = roundTrip(new Point(3));
    expect(copy).toEqual({ x: 3 });
    expect(copy).not.toBeInstanceOf(Point);
  });

  it('a value superjson refuses becomes a TypeError with the cause', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    expect(() => serialize(evil)).toThrow(TypeError);
    const boom = new Error('boom');
    const getter = Object.defineProperty({}, 'x', {
      enumerable: true,
      get: () => {
        throw boom;
      },
    });
    try {
      serialize(getter);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      expect((err as TypeError).cause).toBe(boom);
    }
  });

  it('roundTrip returns a deep copy', () => {
    const value = { a: { b: [1] } };
    const copy = roundTrip(value);
    expect(copy).toEqual(value);
    expect(copy.a).not.toBe(value.a);
    expect(copy.a.b).not.toBe(value.a.b);
  });
});
