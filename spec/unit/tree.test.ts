import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BroadcastCache, broadcastTree, buildTree } from '../../lib/model/tree.js';
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

describe('broadcastTree', () => {
  it('k=2, [a,b,c,d] from a: a reaches b and c, b reaches d', () => {
    expect(asObject(broadcastTree(['a', 'b', 'c', 'd'], 2, 'a'))).toEqual({ a: ['b', 'c'], b: ['d'], c: [], d: [] });
  });

  it('a root that is not a member sends to nobody', () => {
    expect(asObject(broadcastTree(['a', 'b'], 2, 'zz'))).toEqual({ a: [], b: [] });
  });

  it('property: every member but the root is reached exactly once, along an edge of the epidemic tree', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), { minLength: 1 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        (nodes, k, r) => {
          const root = nodes[r % nodes.length]!;
          const tree = broadcastTree(nodes, k, root);
          const epidemic = buildTree(nodes, k);
          const reached = [...tree.entries()].flatMap(([from, to]) => to.map((t) => [from, t] as const));
          expect(reached.map(([, t]) => t).sort()).toEqual(nodes.filter((n) => n !== root).sort());
          for (const [from, to] of reached) {
            // An edge of the epidemic tree, or the root's fallback for a member the tree does not reach.
            expect(epidemic.get(from)!.includes(to) || from === root).toBe(true);
          }
        },
      ),
    );
  });
});

describe('BroadcastCache', () => {
  it('returns the same answers as broadcastTree, for any root', () => {
    const cache = new BroadcastCache();
    const nodes = ['a', 'b', 'c', 'd', 'e'];
    for (const root of nodes) {
      const tree = broadcastTree(nodes, 2, root);
      for (const id of nodes) expect(cache.children(nodes, 2, root, id)).toEqual(tree.get(id));
    }
  });

  it('rebuilds when the member list or the fanout changes', () => {
    const cache = new BroadcastCache();
    expect(cache.children(['a', 'b', 'c'], 2, 'a', 'a')).toEqual(['b', 'c']);
    expect(cache.children(['a', 'b', 'c'], 1, 'a', 'a')).toEqual(['b']);
    expect(cache.children(['a', 'b', 'c', 'd'], 1, 'a', 'b')).toEqual(['c']);
  });
});
