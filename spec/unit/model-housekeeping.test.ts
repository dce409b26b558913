import { describe, expect, it } from 'vitest';
import { dueForEviction, isLive, judgeTick, firstLost, parseEntry, pickCluster, ranksBefore, SILENT_PERIODS, union, without } from '../../lib/model/housekeeping.js';
import type { ClusterEntry, TickReply } from '../../lib/model/housekeeping.js';

const H = (c: string): string => c.repeat(40);
const NOW = 1_000_000;
const GI = 1000;

/** The node 'me' of cluster c1 at version 5. */
const me = { cluster: 'c1', version: 5, hash: H('5'), self: 'me', gossipIntervalMs: GI };

const ok = (o: Partial<Extract<TickReply, { kind: 'ok' }>> = {}): TickReply => ({
  kind: 'ok',
  now: NOW,
  head: { cluster: 'c1', version: 5, hash: H('5') },
  listed: true,
  leader: 'boss',
  leaderSeen: NOW - 100,
  leaderListeners: 1,
  ...o,
});

describe('judgeTick', () => {
  it('restores when Redis has lost the cluster’s state', () => {
    expect(judgeTick(me, { kind: 'missing', now: NOW })).toEqual({ kind: 'restore' });
  });

  it('says evicted when the cluster no longer lists the node', () => {
    expect(judgeTick(me, ok({ listed: false }))).toEqual({ kind: 'evicted' });
  });

  it('says evicted before anything else, even when Redis is newer', () => {
    expect(judgeTick(me, ok({ listed: false, head: { cluster: 'c1', version: 9, hash: H('9') } }))).toEqual({ kind: 'evicted' });
  });

  it('reads when Redis holds a newer version', () => {
    expect(judgeTick(me, ok({ head: { cluster: 'c1', version: 6, hash: H('6') } }))).toEqual({ kind: 'read' });
  });

  it('says the node’s last version lost when Redis holds the same version with another hash (adopting it would show a version twice)', () => {
    const head = { cluster: 'c1', version: 5, hash: H('e') };
    expect(judgeTick(me, ok({ head }))).toEqual({ kind: 'lost', from: 5, to: 5, head });
  });

  it('says lost, from Redis’s version + 1 to the node’s, when Redis holds an older version', () => {
    const head = { cluster: 'c1', version: 2, hash: H('2') };
    expect(judgeTick(me, ok({ head }))).toEqual({ kind: 'lost', from: 3, to: 5, head });
  });

  it('names Redis’s own version lost too when its commit there is another than the node’s', () => {
    const mine = new Map([
      [2, H('2')],
      [3, H('3')],
    ]);
    expect(firstLost({ cluster: 'c1', version: 2, hash: H('2') }, (v) => mine.get(v))).toBe(3);
    expect(firstLost({ cluster: 'c1', version: 3, hash: H('x') }, (v) => mine.get(v))).toBe(3);
    // A version the node no longer remembers: after Redis's head, as far as anyone can tell.
    expect(firstLost({ cluster: 'c1', version: 1, hash: H('x') }, (v) => mine.get(v))).toBe(2);
  });

  it('replaces a leader whose channel has no listener', () => {
    expect(judgeTick(me, ok({ leaderListeners: 0 }))).toEqual({ kind: 'replace_leader', leader: 'boss' });
  });

  it('replaces a leader silent for more than 3 gossip periods, not one silent for exactly 3', () => {
    expect(SILENT_PERIODS).toBe(3);
    expect(judgeTick(me, ok({ leaderSeen: NOW - 3001 }))).toEqual({ kind: 'replace_leader', leader: 'boss' });
    expect(judgeTick(me, ok({ leaderSeen: NOW - 3000 }))).toEqual({ kind: 'fine' });
  });

  it('replaces a leader that was never seen (seen 0)', () => {
    expect(judgeTick(me, ok({ leaderSeen: 0 }))).toEqual({ kind: 'replace_leader', leader: 'boss' });
  });

  it('never replaces the leader when the caller is the leader', () => {
    expect(judgeTick(me, ok({ leader: 'me', leaderListeners: 0, leaderSeen: 0 }))).toEqual({ kind: 'fine' });
  });

  it('is fine when the heads match and the leader is alive', () => {
    expect(judgeTick(me, ok())).toEqual({ kind: 'fine' });
  });
});

describe('parseEntry', () => {
  it('parses "<seen> <size> <created> <gossip interval>"', () => {
    expect(parseEntry('c7', '1700000000123 3 1699999999000 15000')).toEqual({
      id: 'c7',
      seen: 1700000000123,
      size: 3,
      created: 1699999999000,
      gossipIntervalMs: 15000,
    });
  });

  it('gives undefined for a malformed entry', () => {
    for (const text of ['', '1 2 3', '1 2 3 4 5', '1 2 3 4 ', ' 1 2 3 4', '1  2 3 4', 'a 2 3 4', '-1 2 3 4', '1.5 2 3 4', '1 2 3 x']) {
      expect(parseEntry('c', text), text).toBeUndefined();
    }
  });
});

const entry = (id: string, o: Partial<ClusterEntry> = {}): ClusterEntry => ({
  id,
  seen: NOW,
  size: 1,
  created: 100,
  gossipIntervalMs: GI,
  ...o,
});

describe('isLive', () => {
  it('is live up to 3 gossip periods plus 1 s after the last refresh, and dead after', () => {
    expect(isLive(entry('a', { seen: NOW - 4000 }), NOW)).toBe(true);
    expect(isLive(entry('a', { seen: NOW - 4001 }), NOW)).toBe(false);
    expect(isLive(entry('a', { seen: NOW - 46_000, gossipIntervalMs: 15_000 }), NOW)).toBe(true);
    expect(isLive(entry('a', { seen: NOW - 46_001, gossipIntervalMs: 15_000 }), NOW)).toBe(false);
  });
});

describe('ranksBefore', () => {
  it('ranks the larger cluster first, whatever its age or id', () => {
    expect(ranksBefore(entry('z', { size: 3, created: 900 }), entry('a', { size: 2, created: 1 }))).toBe(true);
    expect(ranksBefore(entry('a', { size: 2, created: 1 }), entry('z', { size: 3, created: 900 }))).toBe(false);
  });

  it('ranks the older of two clusters of one size first', () => {
    expect(ranksBefore(entry('z', { size: 2, created: 10 }), entry('a', { size: 2, created: 20 }))).toBe(true);
    expect(ranksBefore(entry('a', { size: 2, created: 20 }), entry('z', { size: 2, created: 10 }))).toBe(false);
  });

  it('ranks the smaller id first on a full tie, and nothing before itself', () => {
    expect(ranksBefore(entry('a', { size: 2 }), entry('b', { size: 2 }))).toBe(true);
    expect(ranksBefore(entry('b', { size: 2 }), entry('a', { size: 2 }))).toBe(false);
    expect(ranksBefore(entry('a'), entry('a'))).toBe(false);
  });
});

describe('pickCluster', () => {
  it('picks the largest live cluster', () => {
    expect(pickCluster([entry('mine'), entry('big', { size: 4 }), entry('mid', { size: 2 })], 'mine', NOW)).toBe('big');
  });

  it('picks the oldest of the largest', () => {
    expect(pickCluster([entry('mine'), entry('young', { size: 3, created: 50 }), entry('old', { size: 3, created: 40 })], 'mine', NOW)).toBe('old');
  });

  it('picks the smallest id among the largest and oldest', () => {
    expect(pickCluster([entry('mine'), entry('q', { size: 3 }), entry('p', { size: 3 })], 'mine', NOW)).toBe('p');
  });

  it('never picks a dead cluster, however large', () => {
    expect(pickCluster([entry('mine'), entry('dead', { size: 9, seen: NOW - 5000 }), entry('alive', { size: 2 })], 'mine', NOW)).toBe('alive');
    expect(pickCluster([entry('mine', { size: 2 }), entry('dead', { size: 9, seen: NOW - 5000 })], 'mine', NOW)).toBeUndefined();
  });

  it('gives undefined when the node’s own cluster ranks first', () => {
    expect(pickCluster([entry('mine', { size: 3 }), entry('other', { size: 2 })], 'mine', NOW)).toBeUndefined();
    expect(pickCluster([entry('b', { size: 2 }), entry('a', { size: 2 })], 'a', NOW)).toBeUndefined();
  });

  it('picks the best live cluster when the node’s own cluster is not in the registry', () => {
    expect(pickCluster([entry('x', { size: 2 }), entry('y')], 'gone', NOW)).toBe('x');
  });

  it('gives undefined for an empty registry', () => {
    expect(pickCluster([], 'mine', NOW)).toBeUndefined();
  });
});

describe('dueForEviction', () => {
  it('lists the members silent for longer than evictAfterMs, never the caller', () => {
    const members = [
      { id: 'me', seen: 0 },
      { id: 'fresh', seen: NOW - 100 },
      { id: 'edge', seen: NOW - 5000 },
      { id: 'stale', seen: NOW - 5001 },
      { id: 'gone', seen: 0 },
    ];
    expect(dueForEviction(members, 'me', NOW, 5000)).toEqual(['stale', 'gone']);
  });
});

describe('union', () => {
  it('puts the newcomers first, in their order, then the surviving members, with no duplicates', () => {
    expect(union(['a', 'b'], ['c', 'b', 'd'])).toEqual(['c', 'd', 'a', 'b']);
  });

  it('is the surviving members when the absorbed side brings nobody new', () => {
    expect(union(['a', 'b'], ['b', 'a'])).toEqual(['a', 'b']);
  });
});

describe('without', () => {
  // Known answers: FNV-1a over "b\nc" is 0x88c0f0fa (even: index 0, 'b');
  // over "b\nc\nd" 0x6fd5065c (mod 3 = 2, 'd'); over "a\nc" 0x29e4c8a3 (odd: 'c').
  it('removing the leader picks the new one by the stable hash of the sorted rest', () => {
    expect(without(['a', 'b', 'c'], 'a', 'a', 'b')).toEqual({ nodes: ['b', 'c'], leader: 'b' });
    expect(without(['d', 'c', 'a', 'b'], 'a', 'a', 'c')).toEqual({ nodes: ['d', 'c', 'b'], leader: 'd' });
    expect(without(['c', 'b', 'a'], 'b', 'b', 'a')).toEqual({ nodes: ['c', 'a'], leader: 'c' });
  });

  it('gives the same new leader whichever member computes it', () => {
    expect(without(['a', 'b', 'c'], 'a', 'a', 'c')).toEqual(without(['a', 'b', 'c'], 'a', 'a', 'b'));
  });

  it('removing another member keeps the leader', () => {
    expect(without(['a', 'b', 'c'], 'a', 'c', 'b')).toEqual({ nodes: ['a', 'b'], leader: 'a' });
  });

  it('chooses a leader among the members when the old one is not a member any more', () => {
    expect(without(['b', 'c', 'x'], 'ghost', 'x', 'c')).toEqual({ nodes: ['b', 'c'], leader: 'b' });
  });
});
