import superjson from 'superjson';
import { chooseLeader } from './leader.js';
import * as vc from './vclock.js';
import type { VClock } from './vclock.js';

/** What every node holds: the shared value and the cluster's view of itself. */
export interface Rumor<T = unknown> {
  /**
   * Which cluster this is: set when a node starts a cluster of its own (its
   * id and the time) and carried by every change; the leader's lease is per
   * cluster.
   */
  readonly cluster: string;
  /** Cluster-wide version: +1 on every change. */
  readonly version: number;
  /** Who changed it how often: nodeId → counter, with tombstones of removed nodes. */
  readonly vclock: VClock;
  /** The shared value. */
  readonly data: T | undefined;
  /** The node that serialises writes. */
  readonly leader: string;
  /** Members, in an order every member shares (new members go first). */
  readonly nodes: readonly string[];
  /** How many neighbours a change is pushed to. */
  readonly fanout: number;
  /** The anti-entropy period. */
  readonly gossipIntervalMs: number;
}

/** The cheap part of a rumor that anti-entropy exchanges. */
export interface Head {
  /** The cluster version. */
  readonly version: number;
  /** The vector clock. */
  readonly vclock: VClock;
}

export type Settings = Pick<Rumor, 'fanout' | 'gossipIntervalMs'>;

/** What a node makes of a rumor (or head) it is shown, against its own. */
export type Verdict = 'newer' | 'same' | 'older' | 'concurrent';

/** A one-node cluster led by `self`. */
export function initialRumor<T>(self: string, data: T | undefined, settings: Settings, now: number): Rumor<T> {
  return {
    cluster: clusterIdOf(self, now),
    version: 1,
    vclock: vc.increment(vc.newClock(), self, now),
    data,
    leader: self,
    nodes: [self],
    fanout: settings.fanout,
    gossipIntervalMs: settings.gossipIntervalMs,
  };
}

export type Patch<T> = Partial<Pick<Rumor<T>, 'data' | 'leader' | 'nodes' | 'fanout' | 'gossipIntervalMs'>>;

/** A change made by `self` (the leader): version +1, its clock entry bumped, old tombstones dropped. */
export function change<T>(r: Rumor<T>, self: string, now: number, patch: Patch<T>): Rumor<T> {
  return {
    ...r,
    ...patch,
    version: r.version + 1,
    vclock: vc.clean(vc.increment(r.vclock, self, now), now),
  };
}

export function addNode<T>(r: Rumor<T>, id: string, self: string, now: number): Rumor<T> {
  if (r.nodes.includes(id)) return r;
  return change(r, self, now, { nodes: [id, ...r.nodes] });
}

/** Removes `id`; when it led, the next leader is chosen without it. */
export function removeNode<T>(
  r: Rumor<T>,
  id: string,
  self: string,
  now: number,
  down: ReadonlySet<string> = new Set(),
): Rumor<T> {
  if (!r.nodes.includes(id)) return r;
  const nodes = r.nodes.filter((n) => n !== id);
  const leader = r.leader === id || !nodes.includes(r.leader)
    ? chooseLeader(nodes, id, down, nodes[0] ?? self)
    : r.leader;
  const next = change(r, self, now, { nodes, leader });
  return { ...next, vclock: vc.tombstone(next.vclock, id, now) };
}

/** Compares a rumor or head shown to this node with the node's own. */
export function compare(local: Head, incoming: Head): Verdict {
  const sameClock = vc.equal(local.vclock, incoming.vclock);
  if (incoming.version === local.version && sameClock) return 'same';
  if (incoming.version > local.version && vc.descends(incoming.vclock, local.vclock)) return 'newer';
  if (incoming.version < local.version && vc.descends(local.vclock, incoming.vclock)) return 'older';
  return 'concurrent';
}

/**
 * Resolves two concurrent rumors (neither descends from the other) the same
 * way on every node: the clocks are merged pointwise, the content of the
 * higher-ranked rumor wins (version, then its leader's clock entry, then the
 * leader id), and the version goes one past both, so the result is newer
 * than either and descends from both.
 */
export function resolveConcurrent<T>(a: Rumor<T>, b: Rumor<T>): Rumor<T> {
  const winner = rank(a, b) >= 0 ? a : b;
  return {
    ...winner,
    version: Math.max(a.version, b.version) + 1,
    vclock: vc.merge(a.vclock, b.vclock),
  };
}

const serialize = (x: unknown): string => superjson.stringify(x);

function rank(a: Rumor<unknown>, b: Rumor<unknown>): number {
  if (a.version !== b.version) return a.version - b.version;
  const ta = a.vclock[a.leader]?.ts ?? 0;
  const tb = b.vclock[b.leader]?.ts ?? 0;
  if (ta !== tb) return ta - tb;
  if (a.leader !== b.leader) return a.leader < b.leader ? -1 : 1;
  // Last resort, so that the result never depends on the order of the arguments.
  const da = serialize(a.data);
  const db = serialize(b.data);
  if (da !== db) return da < db ? -1 : 1;
  const na = a.nodes.join('\u0000');
  const nb = b.nodes.join('\u0000');
  return na < nb ? -1 : na > nb ? 1 : a.fanout - b.fanout || a.gossipIntervalMs - b.gossipIntervalMs;
}

/**
 * What a removed node becomes: its own one-node cluster with the data it
 * last saw, version 1, itself leader, its clock entry bumped past the
 * cluster's (so its old entry, or tombstone, is left behind).
 */
export function restartAlone<T>(seen: Rumor<T>, self: string, now: number): Rumor<T> {
  const own = seen.vclock[self];
  const base: VClock = own ? { [self]: { counter: own.counter, ts: own.ts } } : {};
  return {
    ...seen,
    cluster: clusterIdOf(self, now),
    version: 1,
    vclock: vc.increment(base, self, now),
    leader: self,
    nodes: [self],
  };
}

/** The id of a cluster that `self` starts at `now`: unique, as node ids are unique and a node starts one cluster at a time. */
export function clusterIdOf(self: string, now: number): string {
  return `${self}@${now.toString(36)}`;
}

export function headOf(r: Rumor<unknown>): Head {
  return { version: r.version, vclock: r.vclock };
}

/** What a node does with a rumor it is shown. */
export type Outcome<T> =
  | { readonly kind: 'keep' }
  | { readonly kind: 'adopt'; readonly next: Rumor<T> }
  | { readonly kind: 'merge'; readonly next: Rumor<T> }
  | { readonly kind: 'removed'; readonly next: Rumor<T> };

/**
 * The accept rule. A newer rumor that descends from ours is adopted; one
 * that is concurrent with ours (and of our cluster: it lists us) is resolved
 * deterministically; a newer rumor of our cluster that no longer lists us
 * means we were removed, so we go on alone. Rumors of other clusters are
 * ignored.
 */
export function reconcile<T>(local: Rumor<T>, incoming: Rumor<T>, self: string, now: number): Outcome<T> {
  const verdict = compare(local, incoming);
  const listed = incoming.nodes.includes(self);
  if (verdict === 'newer') {
    if (listed) return { kind: 'adopt', next: incoming };
    // Only our own cluster can remove us: a former member's solo rumor may look newer, but is not ours.
    if (incoming.cluster === local.cluster && local.nodes.length > 1 && local.nodes.includes(self)) {
      return { kind: 'removed', next: restartAlone(incoming, self, now) };
    }
    return { kind: 'keep' };
  }
  if (verdict === 'concurrent' && listed && sharesMembers(local, incoming, self)) {
    return { kind: 'merge', next: resolveConcurrent(local, incoming) };
  }
  return { kind: 'keep' };
}

function sharesMembers(a: Rumor<unknown>, b: Rumor<unknown>, self: string): boolean {
  return a.nodes.some((n) => n !== self && b.nodes.includes(n));
}

/**
 * A leader adds this node with `incoming`. The side with the higher version
 * wins: when ours is not higher we take the incoming rumor as it is;
 * otherwise we keep ours, add the joining cluster's members (new ones first)
 * and its clock, and bump our entry — the "upgrade" the leader then adopts.
 */
export function acceptJoin<T>(mine: Rumor<T>, incoming: Rumor<T>, self: string, now: number): { next: Rumor<T>; upgraded: boolean } {
  if (mine.version <= incoming.version) return { next: incoming, upgraded: false };
  const newcomers = incoming.nodes.filter((n) => !mine.nodes.includes(n));
  return {
    next: {
      ...mine,
      version: mine.version + 1,
      vclock: vc.increment(vc.merge(mine.vclock, incoming.vclock), self, now),
      nodes: [...newcomers, ...mine.nodes],
    },
    upgraded: true,
  };
}
