/**
 * The pure rules of a cluster that keeps itself: what a tick against Redis
 * means, which cluster discovery joins, who is due for eviction, the
 * members after a join or a leave.
 */
import { chooseLeader } from './leader.js';
import type { Head } from './state.js';

/** How many gossip periods without a sign of life make a member (or a cluster) silent. */
export const SILENT_PERIODS = 3;

/** What the tick script answered (see tick-4.lua). */
export type TickReply =
  | { readonly kind: 'missing'; readonly now: number }
  | {
      readonly kind: 'ok';
      readonly now: number;
      readonly head: Head;
      readonly listed: boolean;
      readonly leader: string;
      /** When the leader last refreshed its node key (0: never). */
      readonly leaderSeen: number;
      readonly leaderListeners: number;
    };

/** What a node does after its tick. */
export type TickVerdict =
  | { readonly kind: 'fine' }
  /** Redis lost the cluster's state: restore it. */
  | { readonly kind: 'restore' }
  /** This node is no longer a member (it was evicted while cut off). */
  | { readonly kind: 'evicted' }
  /** Redis holds a newer or another state of this cluster: read it. */
  | { readonly kind: 'read' }
  /**
   * Redis no longer holds this node's last commits (a promoted replica that
   * missed them): versions `from`…`to` are lost, as far as the head tells
   * (Redis's own commit at its version may be another: see {@link firstLost}).
   */
  | { readonly kind: 'lost'; readonly from: number; readonly to: number; readonly head: Head }
  /** The leader shows no sign of life: commit a new choice. */
  | { readonly kind: 'replace_leader'; readonly leader: string };

export function judgeTick(own: Head & { readonly self: string; readonly gossipIntervalMs: number }, reply: TickReply): TickVerdict {
  if (reply.kind === 'missing') return { kind: 'restore' };
  if (!reply.listed) return { kind: 'evicted' };
  const r = reply.head;
  if (r.version > own.version) return { kind: 'read' };
  // The same version, another commit: this node's last one is lost too (taking Redis's would show a version twice).
  if (r.version === own.version && r.hash !== own.hash) return { kind: 'lost', from: own.version, to: own.version, head: r };
  if (r.version < own.version) return { kind: 'lost', from: r.version + 1, to: own.version, head: r };
  const silentFor = reply.now - reply.leaderSeen;
  const gone = reply.leaderListeners === 0 || silentFor > SILENT_PERIODS * own.gossipIntervalMs;
  if (reply.leader !== own.self && gone) return { kind: 'replace_leader', leader: reply.leader };
  return { kind: 'fine' };
}

/**
 * The first version this node held that Redis does not: after Redis's head,
 * unless Redis's commit at that version is another than this node's (a write
 * after the failover took it), when that one is lost too.
 */
export function firstLost(redis: Head, ownHashAt: (version: number) => string | undefined): number {
  const mine = ownHashAt(redis.version);
  return mine !== undefined && mine !== redis.hash ? redis.version : redis.version + 1;
}

/** One entry of the namespace's registry of clusters. */
export interface ClusterEntry {
  readonly id: string;
  readonly seen: number;
  readonly size: number;
  readonly created: number;
  readonly gossipIntervalMs: number;
}

/** Parses a registry entry ("<seen> <size> <created> <gossip interval>"); undefined if malformed. */
export function parseEntry(id: string, text: string): ClusterEntry | undefined {
  const m = /^(\d+) (\d+) (\d+) (\d+)$/.exec(text);
  if (!m) return undefined;
  return { id, seen: Number(m[1]), size: Number(m[2]), created: Number(m[3]), gossipIntervalMs: Number(m[4]) };
}

/** A cluster is live while some member refreshed it within a few of its gossip periods. */
export const isLive = (e: ClusterEntry, now: number): boolean => now - e.seen <= SILENT_PERIODS * e.gossipIntervalMs + 1_000;

/** Discovery's order: the largest cluster first, then the oldest, then the smallest id. */
export function ranksBefore(a: ClusterEntry, b: ClusterEntry): boolean {
  if (a.size !== b.size) return a.size > b.size;
  if (a.created !== b.created) return a.created < b.created;
  return a.id < b.id;
}

/** The live cluster a node of cluster `own` should join, or undefined where its own is the one. */
export function pickCluster(entries: readonly ClusterEntry[], own: string, now: number): string | undefined {
  let best: ClusterEntry | undefined;
  for (const e of entries) if (isLive(e, now) && (best === undefined || ranksBefore(e, best))) best = e;
  if (best === undefined || best.id === own) return undefined;
  const mine = entries.find((e) => e.id === own);
  return mine === undefined || ranksBefore(best, mine) ? best.id : undefined;
}

/** Members whose node key has not been refreshed for `evictAfterMs` (seen: 0 for a key that is gone). */
export function dueForEviction(members: ReadonlyArray<{ readonly id: string; readonly seen: number }>, self: string, now: number, evictAfterMs: number): string[] {
  return members.filter((m) => m.id !== self && now - m.seen > evictAfterMs).map((m) => m.id);
}

/** The members after `absorbed`'s join `into`: the newcomers first (as the original), in their order, then the others. */
export function union(into: readonly string[], absorbed: readonly string[]): string[] {
  return [...absorbed.filter((id) => !into.includes(id)), ...into];
}

/** The members and leader after `id` leaves. */
export function without(nodes: readonly string[], leader: string, id: string, self: string): { nodes: string[]; leader: string } {
  const rest = nodes.filter((n) => n !== id);
  const next = leader === id || !rest.includes(leader) ? chooseLeader(rest, id, new Set(), rest[0] ?? self) : leader;
  return { nodes: rest, leader: next };
}
