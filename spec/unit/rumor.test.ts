import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TOMBSTONE_TTL_MS } from '../../lib/constants.js';
import { chooseLeader } from '../../lib/model/leader.js';
import {
  addNode,
  change,
  compare,
  headOf,
  initialRumor,
  reconcile,
  removeNode,
  resolveConcurrent,
  restartAlone,
} from '../../lib/model/rumor.js';
import type { Outcome, Rumor, Settings } from '../../lib/model/rumor.js';
import { descends } from '../../lib/model/vclock.js';
import type { ClockEntry, VClock } from '../../lib/model/vclock.js';

const S: Settings = { fanout: 2, gossipIntervalMs: 15_000 };

/** A three-member cluster [b, a, l] led by l, at version 4, data 'v0'. */
function cluster(): Rumor<string> {
  let r = initialRumor<string>('l', undefined, S, 1_000);
  r = addNode(r, 'a', 'l', 1_001);
  r = addNode(r, 'b', 'l', 1_002);
  return change(r, 'l', 1_003, { data: 'v0' });
}

function nextOf<T>(o: Outcome<T>): Rumor<T> {
  if (o.kind === 'keep') throw new Error('expected a new rumor, got keep');
  return o.next;
}

describe('initialRumor', () => {
  it('is a one-node cluster at version 1, led by itself, its clock entry at 1', () => {
    expect(initialRumor('a', { x: 1 }, S, 500)).toEqual({
      cluster: 'a@dw',
      version: 1,
      vclock: { a: { counter: 1, ts: 500 } },
      data: { x: 1 },
      leader: 'a',
      nodes: ['a'],
      fanout: 2,
      gossipIntervalMs: 15_000,
    });
  });

  it('may start without data', () => {
    expect(initialRumor('a', undefined, { fanout: 3, gossipIntervalMs: 10 }, 0)).toMatchObject({
      data: undefined,
      fanout: 3,
      gossipIntervalMs: 10,
    });
  });
});

describe('change', () => {
  it('applies the patch, bumps the version and the changer’s own clock entry', () => {
    const r = initialRumor('a', 1, S, 100);
    expect(change(r, 'a', 200, { data: 2 })).toEqual({
      ...r,
      data: 2,
      version: 2,
      vclock: { a: { counter: 2, ts: 200 } },
    });
  });

  it('bumps only the changer’s entry', () => {
    const r = cluster();
    const next = change(r, 'l', 5_000, { fanout: 3 });
    expect(next.vclock.l).toEqual({ counter: (r.vclock.l?.counter ?? 0) + 1, ts: 5_000 });
    expect(next.fanout).toBe(3);
    const others = (c: VClock): Record<string, ClockEntry | undefined> => ({ ...c, l: undefined });
    expect(others(next.vclock)).toEqual(others(r.vclock));
  });

  it('does not modify the rumor it is given', () => {
    const r = initialRumor('a', { x: 1 }, S, 100);
    const copy = structuredClone(r);
    change(r, 'a', 200, { data: { x: 2 }, nodes: ['b', 'a'] });
    expect(r).toEqual(copy);
  });

  it('the new rumor is newer than the old one', () => {
    const r = cluster();
    expect(compare(r, change(r, 'l', 9_000, { data: 'v1' }))).toBe('newer');
  });

  it('drops tombstones older than 5 minutes', () => {
    const r = removeNode(change(cluster(), 'b', 9_000, {}), 'b', 'l', 10_000);
    expect(r.vclock.b?.deletedAt).toBe(10_000);
    expect(change(r, 'l', 10_000 + TOMBSTONE_TTL_MS - 1, {}).vclock).toHaveProperty('b');
    expect(change(r, 'l', 10_000 + TOMBSTONE_TTL_MS, {}).vclock).not.toHaveProperty('b');
  });
});

describe('addNode', () => {
  it('puts the new member first, as a versioned change', () => {
    const r = initialRumor('a', 'd', S, 1);
    const next = addNode(r, 'b', 'a', 2);
    expect(next.nodes).toEqual(['b', 'a']);
    expect(next.version).toBe(2);
    expect(next.vclock.a).toEqual({ counter: 2, ts: 2 });
    expect(addNode(next, 'c', 'a', 3).nodes).toEqual(['c', 'b', 'a']);
  });

  it('adding a member twice changes nothing', () => {
    const r = addNode(initialRumor('a', 'd', S, 1), 'b', 'a', 2);
    expect(addNode(r, 'b', 'a', 3)).toBe(r);
    expect(addNode(r, 'a', 'a', 3)).toBe(r);
  });
});

describe('removeNode', () => {
  it('removes the member and leaves a tombstone of its clock entry', () => {
    let r = cluster();
    r = change(r, 'b', 2_000, {}); // b has a live entry
    const bEntry = r.vclock.b!;
    const next = removeNode(r, 'b', 'l', 3_000);
    expect(next.nodes).toEqual(['a', 'l']);
    expect(next.version).toBe(r.version + 1);
    expect(next.leader).toBe('l');
    expect(next.vclock.b).toEqual({ counter: bEntry.counter, ts: bEntry.ts, deletedAt: 3_000 });
    expect(next.vclock.l?.counter).toBe((r.vclock.l?.counter ?? 0) + 1);
    expect(compare(r, next)).toBe('newer');
  });

  it('removing a node that is not a member changes nothing', () => {
    const r = cluster();
    expect(removeNode(r, 'zz', 'l', 5)).toBe(r);
  });

  it('removing the leader chooses a new one without it', () => {
    const r = cluster();
    const next = removeNode(r, 'l', 'l', 3_000);
    expect(next.nodes).toEqual(['b', 'a']);
    expect(next.leader).toBe(chooseLeader(['b', 'a'], 'l', new Set(), 'b'));
    expect(['a', 'b']).toContain(next.leader);
  });

  it('the new leader skips the nodes known to be down', () => {
    const r = cluster();
    expect(removeNode(r, 'l', 'a', 3_000, new Set(['b'])).leader).toBe('a');
    expect(removeNode(r, 'l', 'b', 3_000, new Set(['a'])).leader).toBe('b');
  });

  it('the new leader is the same whoever removes the old one', () => {
    const r = cluster();
    expect(removeNode(r, 'l', 'a', 3_000).leader).toBe(removeNode(r, 'l', 'b', 4_000).leader);
  });

  it('a removed node’s tombstone lets the rest of the cluster accept the change', () => {
    let r = cluster();
    r = change(r, 'b', 2_000, {});
    const next = removeNode(r, 'b', 'l', 3_000);
    expect(descends(next.vclock, r.vclock)).toBe(true);
  });
});

describe('compare', () => {
  const r = cluster();

  it("the same head is 'same'", () => {
    expect(compare(r, r)).toBe('same');
    expect(compare(headOf(r), structuredClone(headOf(r)))).toBe('same');
  });

  it("a later rumor that descends is 'newer', and the earlier one 'older'", () => {
    const later = change(r, 'l', 9_000, { data: 'x' });
    expect(compare(r, later)).toBe('newer');
    expect(compare(later, r)).toBe('older');
  });

  it("a higher version whose clock does not descend is 'concurrent'", () => {
    const mine = change(r, 'l', 9_000, { data: 'mine' });
    const theirs = change(change(r, 'b', 9_001, {}), 'b', 9_002, {});
    expect(theirs.version).toBeGreaterThan(mine.version);
    expect(compare(mine, theirs)).toBe('concurrent');
    expect(compare(theirs, mine)).toBe('concurrent');
  });

  it("the same version with a different clock is 'concurrent', not 'same'", () => {
    expect(compare(change(r, 'l', 9_000, {}), change(r, 'b', 9_000, {}))).toBe('concurrent');
  });

  it('works on heads as well as whole rumors', () => {
    const later = change(r, 'l', 9_000, { data: 'x' });
    expect(compare(headOf(r), headOf(later))).toBe('newer');
    expect(headOf(later)).toEqual({ version: later.version, vclock: later.vclock });
  });
});

describe('resolveConcurrent', () => {
  const base = cluster();
  const byL = change(base, 'l', 2_000, { data: 'by l' });
  const byB = change(change(base, 'b', 3_000, { leader: 'b' }), 'b', 3_001, { data: 'by b' });

  it('the higher version wins, the clocks are merged and the version goes one past both', () => {
    const r = resolveConcurrent(byL, byB);
    expect(r.data).toBe('by b');
    expect(r.leader).toBe('b');
    expect(r.version).toBe(Math.max(byL.version, byB.version) + 1);
    expect(r.vclock.l).toEqual(byL.vclock.l);
    expect(r.vclock.b).toEqual(byB.vclock.b);
  });

  it('is commutative', () => {
    expect(resolveConcurrent(byL, byB)).toEqual(resolveConcurrent(byB, byL));
  });

  it("the result is 'newer' than both inputs", () => {
    const r = resolveConcurrent(byL, byB);
    expect(compare(byL, r)).toBe('newer');
    expect(compare(byB, r)).toBe('newer');
  });

  it('at equal versions, the leader entry written last wins, in both orders', () => {
    const early = change(base, 'l', 2_000, { data: 'early' });
    const late = change(base, 'b', 2_500, { leader: 'b', data: 'late' });
    expect(resolveConcurrent(early, late).data).toBe('late');
    expect(resolveConcurrent(late, early).data).toBe('late');
  });

  it('at equal versions and leader ts, the leader id breaks the tie, in both orders', () => {
    const viaA = change(base, 'a', 2_000, { leader: 'a', data: 'a' });
    const viaB = change(base, 'b', 2_000, { leader: 'b', data: 'b' });
    expect(resolveConcurrent(viaA, viaB)).toEqual(resolveConcurrent(viaB, viaA));
    expect(resolveConcurrent(viaA, viaB).data).toBe('b');
  });

  // BUG (lib/model/rumor.ts, resolveConcurrent/rank): when rank() ties (same
  // version, same leader, same ts on the leader's clock entry) the first
  // argument wins, so two nodes resolving the same pair in opposite orders
  // end with the same version and clock but different data, which compare()
  // then calls 'same': they never converge.
  it('rumors that tie on version, leader and leader ts still resolve the same in both orders', () => {
    const x = change(base, 'a', 2_000, { data: 'x' });
    const y = change(base, 'b', 2_000, { data: 'y' });
    expect(x.leader).toBe(y.leader);
    expect(resolveConcurrent(x, y)).toEqual(resolveConcurrent(y, x));
  });

  const ids = ['a', 'b', 'c', 'd'] as const;
  const id = fc.constantFrom(...ids);
  const small = fc.integer({ min: 0, max: 3 });
  // A tombstone of (id, counter, ts) has one deletion time wherever it is seen.
  const clock = fc
    .dictionary(id, fc.record({ counter: small, ts: small, deleted: fc.boolean() }))
    .map((d): VClock => {
      const out: Record<string, ClockEntry> = {};
      for (const [k, e] of Object.entries(d)) {
        out[k] = e.deleted
          ? { counter: e.counter, ts: e.ts, deletedAt: e.counter * 10 + e.ts }
          : { counter: e.counter, ts: e.ts };
      }
      return out;
    });
  const rumor: fc.Arbitrary<Rumor<number>> = fc.record({
    cluster: fc.constant('l@1'),
    version: fc.integer({ min: 1, max: 4 }),
    vclock: clock,
    data: fc.integer({ min: 0, max: 3 }),
    leader: id,
    nodes: fc.uniqueArray(id, { minLength: 1 }),
    fanout: fc.integer({ min: 1, max: 3 }),
    gossipIntervalMs: fc.constantFrom(1_000, 15_000),
  });
  const rankTie = (a: Rumor<number>, b: Rumor<number>): boolean =>
    a.version === b.version && a.leader === b.leader && (a.vclock[a.leader]?.ts ?? 0) === (b.vclock[b.leader]?.ts ?? 0);

  it('property: commutative, and newer than both inputs (whenever the rank does not tie)', () => {
    fc.assert(
      fc.property(rumor, rumor, (a, b) => {
        fc.pre(!rankTie(a, b));
        const ab = resolveConcurrent(a, b);
        expect(ab).toEqual(resolveConcurrent(b, a));
        expect(compare(a, ab)).toBe('newer');
        expect(compare(b, ab)).toBe('newer');
      }),
      { numRuns: 300 },
    );
  });
});

describe('restartAlone', () => {
  it('keeps the data, resets to version 1 with itself as the only member and leader', () => {
    const seen = change(cluster(), 'a', 7_000, { data: 'last seen' });
    const alone = restartAlone(seen, 'a', 8_000);
    expect(alone).toEqual({
      cluster: 'a@668',
      version: 1,
      vclock: { a: { counter: seen.vclock.a!.counter + 1, ts: 8_000 } },
      data: 'last seen',
      leader: 'a',
      nodes: ['a'],
      fanout: seen.fanout,
      gossipIntervalMs: seen.gossipIntervalMs,
    });
  });

  it('goes past its own tombstone', () => {
    const seen = removeNode(change(cluster(), 'a', 7_000, {}), 'a', 'l', 7_500);
    expect(seen.vclock.a?.deletedAt).toBe(7_500);
    const alone = restartAlone(seen, 'a', 8_000);
    expect(alone.vclock).toEqual({ a: { counter: seen.vclock.a!.counter + 1, ts: 8_000 } });
  });

  it('starts its entry at 1 when the cluster never had one for it', () => {
    expect(restartAlone(cluster(), 'zz', 8_000).vclock).toEqual({ zz: { counter: 1, ts: 8_000 } });
  });
});

describe('reconcile', () => {
  it("keeps its cluster when a former leader's solo rumor looks newer", () => {
    const base = cluster();
    // l was removed and went on alone: its clock entry is past ours, its version too.
    let solo = restartAlone(removeNode(base, 'l', 'l', 2_000), 'l', 2_001);
    for (let i = 0; i < 6; i++) solo = change(solo, 'l', 2_002 + i, { data: `alone-${i}` });
    expect(solo.version).toBeGreaterThan(base.version);
    expect(compare(base, solo)).toBe('newer');
    expect(reconcile(base, solo, 'a', 3_000)).toEqual({ kind: 'keep' });
  });

  const base = cluster();

  it('adopts a newer rumor that lists this node', () => {
    const newer = change(base, 'l', 5_000, { data: 'new' });
    expect(reconcile(base, newer, 'a', 6_000)).toEqual({ kind: 'adopt', next: newer });
  });

  it('keeps its own rumor when shown the same, or an older one', () => {
    const newer = change(base, 'l', 5_000, { data: 'new' });
    expect(reconcile(base, base, 'a', 6_000)).toEqual({ kind: 'keep' });
    expect(reconcile(newer, base, 'a', 6_000)).toEqual({ kind: 'keep' });
  });

  it("is 'removed' by a newer rumor of its cluster that no longer lists it", () => {
    const without = removeNode(base, 'a', 'l', 5_000);
    const outcome = reconcile(base, without, 'a', 6_000);
    expect(outcome.kind).toBe('removed');
    expect(nextOf(outcome)).toEqual(restartAlone(without, 'a', 6_000));
    expect(nextOf(outcome)).toMatchObject({ version: 1, leader: 'a', nodes: ['a'], data: 'v0' });
  });

  it('a node alone keeps its rumor when shown a newer rumor that does not list it', () => {
    const mine = initialRumor('a', 'mine', S, 1);
    const foreign: Rumor<string> = {
      ...initialRumor('x', 'theirs', S, 2),
      version: 3,
      vclock: { ...mine.vclock, x: { counter: 1, ts: 2 } },
    };
    expect(compare(mine, foreign)).toBe('newer');
    expect(reconcile(mine, foreign, 'a', 10)).toEqual({ kind: 'keep' });
  });

  it('a node alone keeps its rumor when shown a foreign one that lists it but shares no other member', () => {
    const mine = initialRumor('a', 'mine', S, 1);
    const foreign = addNode(initialRumor('x', 'theirs', S, 2), 'a', 'x', 3);
    expect(compare(mine, foreign)).toBe('concurrent');
    expect(reconcile(mine, foreign, 'a', 10)).toEqual({ kind: 'keep' });
  });

  it('keeps its rumor when shown a concurrent rumor of another cluster', () => {
    const other = initialRumor('x', 'theirs', S, 2);
    expect(reconcile(base, other, 'a', 10)).toEqual({ kind: 'keep' });
  });

  it('ignores the old cluster’s rumors once it went on alone', () => {
    const without = removeNode(base, 'a', 'l', 5_000);
    const alone = nextOf(reconcile(base, without, 'a', 6_000));
    const later = change(without, 'l', 7_000, { data: 'later' });
    expect(reconcile(alone, later, 'a', 8_000)).toEqual({ kind: 'keep' });
  });

  it('merges a concurrent rumor of the same cluster', () => {
    const mine = change(base, 'l', 2_000, { data: 'by l' });
    const theirs = change(base, 'b', 3_000, { leader: 'b', data: 'by b' });
    expect(reconcile(mine, theirs, 'a', 4_000)).toEqual({ kind: 'merge', next: resolveConcurrent(mine, theirs) });
  });
});

describe('DESIGN.md section 5: a leader that dies mid-push', () => {
  // Cluster [b, a, l] led by l at version 4. l writes version 5; it reaches
  // A but not B; l dies. B takes over from its older rumor (version 5 too)
  // and writes (version 6).
  const base = cluster();
  const onA = change(base, 'l', 2_000, { data: 'written by l' });
  const takeover = change(base, 'b', 3_000, { leader: 'b' });
  const onB = change(takeover, 'b', 3_001, { data: 'written by b' });

  it('without resolution, A can accept none of B’s rumors', () => {
    expect(takeover.version).toBe(onA.version);
    expect(compare(onA, takeover)).toBe('concurrent');
    expect(compare(onA, onB)).toBe('concurrent');
    expect(compare(onA, change(onB, 'b', 4_000, { data: 'again' }))).toBe('concurrent');
  });

  it('A and B each merge the other’s rumor into the same rumor', () => {
    const a = nextOf(reconcile(onA, onB, 'a', 5_000));
    const b = nextOf(reconcile(onB, onA, 'b', 5_000));
    expect(a).toEqual(b);
    expect(compare(onA, a)).toBe('newer');
    expect(compare(onB, a)).toBe('newer');
  });

  it('A hears from B first, pushes the merge to B, and B adopts it', () => {
    const atA = reconcile(onA, onB, 'a', 5_000);
    expect(atA.kind).toBe('merge');
    const atB = reconcile(onB, nextOf(atA), 'b', 5_100);
    expect(atB.kind).toBe('adopt');
    expect(nextOf(atB)).toEqual(nextOf(atA));
  });

  it('B hears from A first, pushes the merge to A, and A adopts it', () => {
    const atB = reconcile(onB, onA, 'b', 5_000);
    expect(atB.kind).toBe('merge');
    const atA = reconcile(onA, nextOf(atB), 'a', 5_100);
    expect(atA.kind).toBe('adopt');
    expect(nextOf(atA)).toEqual(nextOf(atB));
  });

  it('both orders end in the same rumor, and A accepts B’s later writes', () => {
    const first = nextOf(reconcile(onB, nextOf(reconcile(onA, onB, 'a', 5_000)), 'b', 5_100));
    const second = nextOf(reconcile(onA, nextOf(reconcile(onB, onA, 'b', 5_000)), 'a', 5_100));
    expect(first).toEqual(second);
    expect(first.leader).toBe('b');
    const later = change(first, 'b', 6_000, { data: 'later' });
    expect(reconcile(first, later, 'a', 6_100)).toEqual({ kind: 'adopt', next: later });
  });

  it('the same holds when B’s takeover has the same version as A’s rumor', () => {
    const a = nextOf(reconcile(onA, takeover, 'a', 5_000));
    const b = nextOf(reconcile(takeover, onA, 'b', 5_000));
    expect(a).toEqual(b);
    expect(a.version).toBe(onA.version + 1);
  });
});
