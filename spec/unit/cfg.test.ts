import { describe, expect, it } from 'vitest';
import { CfgView, deleteCfgUpdater, setCfgUpdater } from '../../lib/cfg.js';

describe('CfgView', () => {
  it('reads a present key, and the default for a missing one', () => {
    const view = new CfgView();
    const data = Object.freeze({ a: 1, b: null });
    expect(view.read(data, 'a', 0)).toBe(1);
    expect(view.read(data, 'b', 0)).toBeNull();
    expect(view.read(data, 'c', 'dflt')).toBe('dflt');
    expect(view.read(data, 'toString', 'dflt')).toBe('dflt');
  });

  it('tells a key that holds undefined from a missing one', () => {
    const view = new CfgView();
    const data = { gone: undefined, here: 1 };
    expect(view.read(data, 'gone', 'dflt')).toBeUndefined();
    expect(view.read(data, 'missing', 'dflt')).toBe('dflt');
  });

  it('indexes new data when the data object changes', () => {
    const view = new CfgView();
    expect(view.read({ a: 1 }, 'a', 0)).toBe(1);
    expect(view.read({ a: 2 }, 'a', 0)).toBe(2);
    expect(view.read(undefined, 'a', 0)).toBe(0);
  });

  it('reads a Map as config', () => {
    expect(new CfgView().read(new Map([['k', 'v']]), 'k', 'd')).toBe('v');
  });

  it('data that is not an object of keys is a TypeError', () => {
    const view = new CfgView();
    expect(() => view.read(5, 'k', 'd')).toThrow(TypeError);
    expect(() => view.read([1], 'k', 'd')).toThrow(TypeError);
    expect(() => view.read(null, 'k', 'd')).toThrow(TypeError);
  });
});

describe('config updaters', () => {
  it('setCfg copies the object with the key set, starting from {}', () => {
    const before = Object.freeze({ a: 1 });
    expect(setCfgUpdater<object>('b', 2)(before)).toEqual({ change: { a: 1, b: 2 } });
    expect(setCfgUpdater<object>('a', 1)(undefined)).toEqual({ change: { a: 1 } });
    expect(before).toEqual({ a: 1 });
  });

  it('deleteCfg removes the key, or changes nothing when it is missing', () => {
    expect(deleteCfgUpdater<object>('a')({ a: 1, b: 2 })).toEqual({ change: { b: 2 } });
    expect(deleteCfgUpdater<object>('x')({ a: 1 })).toBe('no_change');
    expect(deleteCfgUpdater<object>('x')(undefined)).toBe('no_change');
  });

  it('on a Map (kept whole: patchCfg on a Map runs these updaters as one compare-and-set), copy it with the key set or removed', () => {
    const before = new Map<string, unknown>([['a', 1]]);
    const set = setCfgUpdater<Map<string, unknown>>('b', 2)(before);
    expect(set).not.toBe('no_change');
    const after = (set as { change: Map<string, unknown> }).change;
    expect(after).toBeInstanceOf(Map);
    expect([...after]).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect([...before]).toEqual([['a', 1]]);
    const del = deleteCfgUpdater<Map<string, unknown>>('a')(after);
    expect([...(del as { change: Map<string, unknown> }).change]).toEqual([['b', 2]]);
    expect(deleteCfgUpdater<Map<string, unknown>>('missing')(after)).toBe('no_change');
  });

  it('both refuse data that is not an object of keys', () => {
    expect(() => setCfgUpdater('k', 1)(3)).toThrow(TypeError);
    expect(() => deleteCfgUpdater('k')('text')).toThrow(TypeError);
  });
});
