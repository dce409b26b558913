import { TOMBSTONE_TTL_MS } from '../constants.js';

/** One node's entry in a vector clock; `deletedAt` marks a tombstone of a removed node. */
export interface ClockEntry {
  /** How many changes the node made. */
  readonly counter: number;
  /** When it made the last one (ms since the epoch). */
  readonly ts: number;
  /** When the node was removed: a tombstone, dropped after 5 minutes. */
  readonly deletedAt?: number;
}

/** nodeId → entry. */
export type VClock = Readonly<Record<string, ClockEntry>>;

export function newClock(): VClock {
  return {};
}

const isLive = (e: ClockEntry | undefined): e is ClockEntry => e !== undefined && e.deletedAt === undefined;

/** Bumps `id`'s entry (reviving a tombstone), stamped with `now`. */
export function increment(clock: VClock, id: string, now: number): VClock {
  const cur = clock[id];
  return { ...clock, [id]: { counter: (cur?.counter ?? 0) + 1, ts: now } };
}

/** Turns `id`'s entry into a tombstone (kept for {@link TOMBSTONE_TTL_MS}). */
export function tombstone(clock: VClock, id: string, now: number): VClock {
  const cur = clock[id];
  if (cur === undefined || cur.deletedAt !== undefined) return clock;
  return { ...clock, [id]: { counter: cur.counter, ts: cur.ts, deletedAt: now } };
}

/**
 * True when `next` descends from `prev`: every live entry of `prev` is in
 * `next` with a higher counter, the same counter and ts, or as a tombstone.
 */
export function descends(next: VClock, prev: VClock): boolean {
  for (const id of Object.keys(prev)) {
    const p = prev[id];
    if (!isLive(p)) continue;
    const n = next[id];
    if (n === undefined) return false;
    if (n.deletedAt !== undefined) continue;
    if (n.counter > p.counter) continue;
    if (n.counter === p.counter && n.ts === p.ts) continue;
    return false;
  }
  return true;
}

export function equal(a: VClock, b: VClock): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const id of ka) {
    const x = a[id];
    const y = b[id];
    if (x === undefined || y === undefined) return false;
    if (x.counter !== y.counter || x.ts !== y.ts || x.deletedAt !== y.deletedAt) return false;
  }
  return true;
}

/**
 * Pointwise join of two clocks that both descend into the result. Two
 * different entries with the same counter (a node that re-used a counter
 * after restarting from an older snapshot) are resolved by going one past.
 */
export function merge(a: VClock, b: VClock): VClock {
  const out: Record<string, ClockEntry> = { ...a };
  for (const id of Object.keys(b)) {
    const y = b[id]!;
    const x = out[id];
    out[id] = x === undefined ? y : mergeEntry(x, y);
  }
  return out;
}

function mergeEntry(x: ClockEntry, y: ClockEntry): ClockEntry {
  if (x.counter !== y.counter) return x.counter > y.counter ? x : y;
  if (x.ts !== y.ts) {
    const both = x.deletedAt !== undefined && y.deletedAt !== undefined;
    const top = { counter: x.counter + 1, ts: Math.max(x.ts, y.ts) };
    return both ? { ...top, deletedAt: Math.max(x.deletedAt!, y.deletedAt!) } : top;
  }
  // Same counter and ts: the removal came after, so a tombstone wins (the later one, if both are).
  if (x.deletedAt !== undefined && y.deletedAt !== undefined) return x.deletedAt >= y.deletedAt ? x : y;
  return x.deletedAt !== undefined ? x : y;
}

/** Drops tombstones older than {@link TOMBSTONE_TTL_MS}. */
export function clean(clock: VClock, now: number, ttlMs = TOMBSTONE_TTL_MS): VClock {
  let out: Record<string, ClockEntry> | undefined;
  for (const id of Object.keys(clock)) {
    const e = clock[id]!;
    if (e.deletedAt !== undefined && now - e.deletedAt >= ttlMs) {
      out ??= { ...clock };
      delete out[id];
    }
  }
  return out ?? clock;
}
