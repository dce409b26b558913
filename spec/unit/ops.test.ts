import { describe, expect, it } from 'vitest';
import { foldOps } from '../../lib/model/ops.js';
import type { DataOp } from '../../lib/model/ops.js';

const set = (value: unknown): DataOp => ({ op: 'set', value });
const patch = (entries: Record<string, unknown>, del: string[] = []): DataOp => ({ op: 'patch', set: new Map(Object.entries(entries)), del });
const shown = (op: DataOp | undefined) => (op?.op === 'patch' ? { set: [...op.set], del: op.del } : op);

describe('foldOps', () => {
  it('a whole set replaces whatever came before it, as the same op', () => {
    const last = set({ a: 2 });
    expect(foldOps(set(1), last)).toBe(last);
    expect(foldOps(patch({ a: 1 }, ['b']), last)).toBe(last);
  });

  it('two patches merge key by key, the later winning, key order by first write', () => {
    expect(shown(foldOps(patch({ a: 1, b: 2 }), patch({ c: 3, a: 10 })))).toEqual({
      set: [
        ['a', 10],
        ['b', 2],
        ['c', 3],
      ],
      del: [],
    });
  });

  it('a later removal drops the earlier set of that key and is kept as a removal', () => {
    expect(shown(foldOps(patch({ a: 1, b: 2 }), patch({}, ['a', 'z'])))).toEqual({ set: [['b', 2]], del: ['a', 'z'] });
    expect(shown(foldOps(patch({}, ['a']), patch({}, ['a', 'b'])))).toEqual({ set: [], del: ['a', 'b'] });
  });

  it('a patch that sets a key the earlier one removed stays apart (in turn the key would move last)', () => {
    expect(foldOps(patch({}, ['a']), patch({ a: 1 }))).toBeUndefined();
  });

  it('a patch after a whole set stays apart (on a value that is not an object it must fail alone)', () => {
    expect(foldOps(set({ a: 1 }), patch({ b: 2 }))).toBeUndefined();
    expect(foldOps(set(5), patch({ b: 2 }))).toBeUndefined();
  });

  it('changes neither op it was given', () => {
    const a = patch({ a: 1 }, ['x']);
    const b = patch({ a: 2, b: 3 }, ['y']);
    foldOps(a, b);
    expect(shown(a)).toEqual({ set: [['a', 1]], del: ['x'] });
    expect(shown(b)).toEqual({
      set: [
        ['a', 2],
        ['b', 3],
      ],
      del: ['y'],
    });
  });
});
