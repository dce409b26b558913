import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseLeader, fnv1a } from '../../lib/model/leader.js';

const none: ReadonlySet<string> = new Set();

describe('fnv1a', () => {
  it('matches the published 32-bit FNV-1a values for ASCII text', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('is an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const h = fnv1a(s);
        return Number.isInteger(h) && h >= 0 && h <= 0xffffffff;
      }),
    );
  });
});

describe('chooseLeader', () => {
  it('picks by a stable hash of the sorted candidates', () => {
    const candidates = ['a', 'b', 'c', 'd'];
    const expected = candidates[fnv1a(candidates.join('\n')) % candidates.length];
    expect(chooseLeader(['d', 'c', 'b', 'a', 'old'], 'old', none, 'a')).toBe(expected);
  });

  it('is deterministic', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const first = chooseLeader(nodes, 'n1', new Set(['n2']), 'n3');
    for (let i = 0; i < 5; i++) expect(chooseLeader(nodes, 'n1', new Set(['n2']), 'n3')).toBe(first);
  });

  it('does not depend on the order of the members', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 })
          .chain((nodes) => fc.tuple(fc.constant(nodes), fc.shuffledSubarray(nodes, { minLength: nodes.length, maxLength: nodes.length }))),
        ([nodes, shuffled]) => chooseLeader(nodes, undefined, none, 'self') === chooseLeader(shuffled, undefined, none, 'self'),
      ),
    );
  });

  it('does not depend on the local node while candidates are left', () => {
    const nodes = ['a', 'b', 'c'];
    expect(chooseLeader(nodes, 'a', none, 'b')).toBe(chooseLeader(nodes, 'a', none, 'c'));
  });

  const member = fc.constantFrom<string>('a', 'b', 'c', 'd', 'e', 'f', 'g');

  it('never picks the old leader or a node known to be down', () => {
    fc.assert(
      fc.property(fc.uniqueArray(member, { minLength: 1 }), fc.option(member, { nil: undefined }), fc.uniqueArray(member), (nodes, old, down) => {
        const downSet: ReadonlySet<string> = new Set(down);
        const left = nodes.filter((n) => n !== old && !downSet.has(n));
        const chosen = chooseLeader(nodes, old, downSet, 'self');
        return left.length === 0 ? chosen === 'self' : left.includes(chosen);
      }),
    );
  });

  it('with a single candidate left, picks it', () => {
    expect(chooseLeader(['a', 'b', 'c'], 'a', new Set(['b']), 'a')).toBe('c');
  });

  it('falls back to the local node when no candidate is left', () => {
    expect(chooseLeader(['a', 'b'], 'a', new Set(['b']), 'me')).toBe('me');
    expect(chooseLeader(['a'], 'a', none, 'me')).toBe('me');
    expect(chooseLeader([], undefined, none, 'me')).toBe('me');
  });

  it('spreads leadership: different member lists do not all pick the same position', () => {
    const picks = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const nodes = ['a', 'b', 'c', 'd', 'e'].map((n) => `${n}${i}`);
      picks.add(nodes.indexOf(chooseLeader(nodes, undefined, none, 'x')));
    }
    expect(picks.size).toBeGreaterThan(1);
  });
});
