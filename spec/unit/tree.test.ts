import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildTree, TreeCache } from '../../lib/model/tree.js';
import type { Tree } from '../../lib/model/tree.js';

const asObject = (tree: Tree): Record<string, readonly string[]> => Object.fromEntries(tree);

describe('buildTree: the known answers', () => {
  it('k=2, [a,b,c] → a:[b,c] b:[c,a] c:[a,b]', () => {
    expect(asObject(buildTree(['a', 'b', 'c'], 2))).toEqual({ a: ['b', 'c'], b: ['c', 'a'], c: ['a', 'b'] });
  });

  it('k=2, [a,b,c,d] → a:[b,c] b:[d,a] c:[d,b] d:[a,b]', () => {
    expect(asObject(buildTree(['a', 'b', 'c', 'd'], 2))).toEqual({
      a: ['b', 'c'],
      b: ['d', 'a'],
      c: ['d', 'b'],
      d: ['a', 'b'],
    });
  });

  it('k=2, [a,b] → a:[b] b:[a]', () => {
    expect(asObject(buildTree(['a', 'b'], 2))).toEqual({ a: ['b'], b: ['a'] });
  });

  it('k=1, [a,b,c] → a:[b] b:[c] c:[a]', () => {
    expect(asObject(buildTree(['a', 'b', 'c'], 1))).toEqual({ a: ['b'], b: ['c'], c: ['a'] });
  });

  it('k=10, [a,b,c] → the same as k=2', () => {
    expect(asObject(buildTree(['a', 'b', 'c'], 10))).toEqual({ a: ['b', 'c'], b: ['c', 'a'], c: ['a', 'b'] });
  });

  it('[] has no nodes, [a] has no neighbours', () => {
    expect(buildTree([], 2).size).toBe(0);
    expect(asObject(buildTree(['a'], 2))).toEqual({ a: [] });
  });

  it('follows the list order, not the ids', () => {
    expect(asObject(buildTree(['c', 'b', 'a'], 1))).toEqual({ c: ['b'], b: ['a'], a: ['c'] });
  });
});

/** Every node reachable from `from` by following neighbour edges. */
function reachable(tree: Tree, from: string): Set<string> {
  const seen = new Set([from]);
  const todo = [from];
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    for (const next of tree.get(id) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

describe('buildTree: properties', () => {
  const members = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 30 });
  const fanout = fc.integer({ min: 1, max: 12 });

  it('no node is its own neighbour and each has min(k, n-1) distinct neighbours among the members', () => {
    fc.assert(
      fc.property(members, fanout, (nodes, k) => {
        const tree = buildTree(nodes, k);
        if (tree.size !== nodes.length) return false;
        const m = Math.min(k, nodes.length - 1);
        return nodes.every((self) => {
          const neighbours = tree.get(self);
          return neighbours !== undefined
            && neighbours.length === m
            && new Set(neighbours).size === m
            && !neighbours.includes(self)
            && neighbours.every((n) => nodes.includes(n));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('with two or more nodes, every node reaches every other along neighbour edges', () => {
    fc.assert(
      fc.property(members.filter((n) => n.length >= 2), fanout, (nodes, k) => {
        const tree = buildTree(nodes, k);
        return nodes.every((id) => reachable(tree, id).size === nodes.length);
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(members, fanout, (nodes, k) => {
        expect(asObject(buildTree(nodes, k))).toEqual(asObject(buildTree([...nodes], k)));
      }),
    );
  });
});

describe('TreeCache', () => {
  it('returns the same answers as buildTree', () => {
    const cache = new TreeCache();
    const nodes = ['a', 'b', 'c', 'd'];
    const tree = buildTree(nodes, 2);
    for (const id of nodes) expect(cache.neighbours(nodes, 2, id)).toEqual(tree.get(id));
  });

  it('answers no neighbours for a node that is not a member', () => {
    expect(new TreeCache().neighbours(['a', 'b'], 2, 'zz')).toEqual([]);
  });

  it('reuses the tree while the list and fanout stay the same', () => {
    const cache = new TreeCache();
    const first = cache.neighbours(['a', 'b', 'c'], 2, 'a');
    expect(cache.neighbours(['a', 'b', 'c'], 2, 'a')).toBe(first);
  });

  it('rebuilds when the member list changes', () => {
    const cache = new TreeCache();
    expect(cache.neighbours(['a', 'b', 'c'], 2, 'b')).toEqual(['c', 'a']);
    expect(cache.neighbours(['a', 'b', 'c', 'd'], 2, 'b')).toEqual(['d', 'a']);
    expect(cache.neighbours(['b', 'a'], 2, 'b')).toEqual(['a']);
  });

  it('rebuilds when the fanout changes', () => {
    const cache = new TreeCache();
    expect(cache.neighbours(['a', 'b', 'c'], 2, 'a')).toEqual(['b', 'c']);
    expect(cache.neighbours(['a', 'b', 'c'], 1, 'a')).toEqual(['b']);
    expect(cache.neighbours(['a', 'b', 'c'], 2, 'a')).toEqual(['b', 'c']);
  });

  it('property: always agrees with buildTree across a sequence of changes', () => {
    const cache = new TreeCache();
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1 }),
        fc.integer({ min: 1, max: 6 }),
        (nodes, k) => {
          const tree = buildTree(nodes, k);
          for (const id of nodes) expect(cache.neighbours(nodes, k, id)).toEqual(tree.get(id));
        },
      ),
    );
  });
});
