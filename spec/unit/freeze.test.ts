import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../lib/freeze.js';

describe('deepFreeze', () => {
  it('freezes an object and returns the same object', () => {
    const value = { a: 1 };
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(value)).toBe(true);
  });

  it('freezes nested objects and arrays, all the way down', () => {
    const value = { list: [{ deep: { deeper: [1, 2] } }], o: { p: {} } };
    deepFreeze(value);
    expect(Object.isFrozen(value.list)).toBe(true);
    expect(Object.isFrozen(value.list[0])).toBe(true);
    expect(Object.isFrozen(value.list[0]!.deep)).toBe(true);
    expect(Object.isFrozen(value.list[0]!.deep.deeper)).toBe(true);
    expect(Object.isFrozen(value.o.p)).toBe(true);
  });

  it('a frozen value rejects writes in strict mode', () => {
    const value = deepFreeze({ a: { b: 1 }, list: [1] });
    expect(() => {
      value.a.b = 2;
    }).toThrow(TypeError);
    expect(() => value.list.push(2)).toThrow(TypeError);
    expect(value).toEqual({ a: { b: 1 }, list: [1] });
  });

  it('freezes the keys and values of a Map and the members of a Set', () => {
    const key = { k: 1 };
    const val = { v: [1] };
    const member = { s: 1 };
    const value = { m: new Map([[key, val]]), s: new Set([member]) };
    deepFreeze(value);
    expect(Object.isFrozen(value.m)).toBe(true);
    expect(Object.isFrozen(key)).toBe(true);
    expect(Object.isFrozen(val)).toBe(true);
    expect(Object.isFrozen(val.v)).toBe(true);
    expect(Object.isFrozen(value.s)).toBe(true);
    expect(Object.isFrozen(member)).toBe(true);
  });

  // Object.freeze does not stop Map.prototype.set / Set.prototype.add (they
  // write internal slots): without the read-only methods, a Map or Set inside
  // the data that get() hands out could be changed by any reader, for every
  // other reader in the process, without a version change.
  it('a Map or Set in frozen data cannot be changed', () => {
    const value = deepFreeze({ m: new Map([['k', 1]]), s: new Set([1]) });
    expect(() => value.m.set('k', 2)).toThrow();
    expect(() => value.s.add(2)).toThrow();
    expect(value.m.get('k')).toBe(1);
    expect(value.s.has(2)).toBe(false);
  });

  it('does not loop on a cycle', () => {
    type Node = { name: string; next?: Node; list: Node[] };
    const a: Node = { name: 'a', list: [] };
    const b: Node = { name: 'b', next: a, list: [a] };
    a.next = b;
    a.list.push(a, b);
    const m = new Map<string, unknown>();
    m.set('self', m);
    const value = { a, m };
    expect(deepFreeze(value)).toBe(value);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(a.list)).toBe(true);
    expect(Object.isFrozen(m)).toBe(true);
  });

  it('leaves primitives alone', () => {
    expect(deepFreeze(1)).toBe(1);
    expect(deepFreeze('s')).toBe('s');
    expect(deepFreeze(null)).toBe(null);
    expect(deepFreeze(undefined)).toBe(undefined);
    expect(deepFreeze(10n)).toBe(10n);
  });

  it('freezes values under symbol keys and non-enumerable keys', () => {
    const sym = Symbol('s');
    const hidden = { h: 1 };
    const bySym = { y: 1 };
    const value: Record<PropertyKey, unknown> = { [sym]: bySym };
    Object.defineProperty(value, 'hidden', { value: hidden, enumerable: false });
    deepFreeze(value);
    expect(Object.isFrozen(hidden)).toBe(true);
    expect(Object.isFrozen(bySym)).toBe(true);
  });

  it('does not throw on typed arrays and Buffers (which cannot be frozen)', () => {
    const value = { bytes: new Uint8Array([1, 2]), buf: Buffer.from('hi'), date: new Date(0) };
    expect(() => deepFreeze(value)).not.toThrow();
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.date)).toBe(true);
  });

  it('still freezes what is inside an object that was frozen only shallowly', () => {
    const inner = { x: 1 };
    const outer = Object.freeze({ inner });
    deepFreeze(outer);
    expect(Object.isFrozen(inner)).toBe(true);
  });

  it('freezing an already frozen value is harmless', () => {
    const value = deepFreeze({ a: [1] });
    expect(() => deepFreeze(value)).not.toThrow();
    expect(Object.isFrozen(value.a)).toBe(true);
  });
});
