/**
 * A cluster's state as a node holds it, and the pure rules of changing it:
 * what an incoming change means, applying a data change, what a head means.
 * Nothing here does I/O; the node's shell carries out what these decide.
 */

/** The committed state of a cluster, as every member holds it (frozen). */
export interface State<T = unknown> {
  /** The cluster's id. */
  readonly cluster: string;
  /** +1 on every commit; consecutive, so a gap shows a missed change. */
  readonly version: number;
  /** The hash chain over the commits: two states with one version and different hashes have diverged. */
  readonly hash: string;
  /** The shared value (in config mode an object of keys). */
  readonly data: T | undefined;
  /** The member that does the housekeeping. */
  readonly leader: string;
  /** Members, in the order every member shares. */
  readonly nodes: readonly string[];
  /** How many members get this node's head each anti-entropy tick. */
  readonly fanout: number;
  /** The anti-entropy period. */
  readonly gossipIntervalMs: number;
}

/** What anti-entropy exchanges: where a node is. */
export interface Head {
  readonly cluster: string;
  readonly version: number;
  readonly hash: string;
}

/** How the data is stored: one value ('v'), or one field per key ('c'). */
export type DataMode = 'v' | 'c';

/** A key's (or the whole value's) bookkeeping in Redis. */
export interface Entry {
  /** Its position: keys are ordered by the seq of their first write. */
  readonly seq: number;
  /** The commit time of its last write, in µs of Redis's clock. */
  readonly at: number;
  /** Its writer's signature ('' when unsigned). */
  readonly sig: string;
  /** Its value's text, as stored and signed (the same text always decodes to an equal value). */
  readonly text: string;
}

/** What a node keeps beside the state to write it back whole (a restore, a new cluster of its own). */
export interface Book {
  readonly mode: DataMode;
  /** The last data write's commit time (µs); 0 if the data was never written. */
  readonly wt: number;
  /** The last key seq handed out. */
  readonly seq: number;
  /** When the cluster was created, by Redis's clock. */
  readonly created: number;
  /** Config mode: each key's entry. Value mode: the value's, under ''. */
  readonly entries: ReadonlyMap<string, Entry>;
  /** The last versions Redis lost (a failover), and the version of the commit that went on above them. */
  readonly lost?: { readonly from: number; readonly to: number; readonly version: number };
}

/** A data change, as a commit script published it (its values decoded). */
export interface DataChange {
  readonly version: number;
  readonly hash: string;
  readonly prev: string;
  /** Commit time, in µs of Redis's clock. */
  readonly at: number;
  readonly op: 'set' | 'patch';
  /** 'set' only: how the new value is stored. */
  readonly mode?: DataMode;
  /** Keys set (value mode: one '' entry, or none for undefined), with their values' texts. */
  readonly set: readonly string[];
  readonly texts: readonly string[];
  readonly sigs: readonly string[];
  readonly del: readonly string[];
}

export const headOf = (s: State): Head => ({ cluster: s.cluster, version: s.version, hash: s.hash });

/** What a change published for `cluster` at `version` after `prev` means to a node holding `own`. */
export type ChangeVerdict =
  /** The next change of this node's chain: apply it. */
  | 'apply'
  /** This node holds it already, or something newer. */
  | 'stale'
  /** A gap, another chain, or a change that says "read me": read the state from Redis. */
  | 'read';

export function judgeChange(own: Head, change: { cluster: string; version: number; prev: string; data: boolean }): ChangeVerdict {
  if (change.cluster === own.cluster && change.version <= own.version) return 'stale';
  if (change.data && change.cluster === own.cluster && change.version === own.version + 1 && change.prev === own.hash) return 'apply';
  return 'read';
}

/** What another member's head means to a node holding `own`. */
export type HeadVerdict = 'same' | 'behind' | 'ahead' | 'diverged' | 'foreign';

export function judgeHead(own: Head, theirs: Head): HeadVerdict {
  if (theirs.cluster !== own.cluster) return 'foreign';
  if (theirs.version > own.version) return 'behind';
  if (theirs.version < own.version) return 'ahead';
  return theirs.hash === own.hash ? 'same' : 'diverged';
}

/**
 * The state and book after a data change (judged 'apply'). Config mode keeps
 * key order: keys already there stay where they are, new ones go last, as
 * their seq in Redis says. A value whose text is the one held is not decoded
 * again: it keeps the object held (so get() returns the same object), and
 * when nothing in the data changed the data itself is the one held.
 * `decode` turns a value's text into its value (it may throw).
 */
export function applyData<T>(state: State<T>, book: Book, c: DataChange, decode: (text: string) => unknown): { state: State<T>; book: Book } {
  const held = state.data as unknown;
  const heldObj = book.mode === 'c' && isRecord(held) ? held : undefined;
  const entries = new Map(c.op === 'set' ? [] : book.entries);
  let data: unknown;
  let mode = book.mode;
  let seq = book.seq;
  let same: boolean;
  if (c.op === 'set') {
    mode = c.mode ?? 'v';
    seq = 0;
    if (mode === 'v') {
      if (c.set.length > 0) {
        const kept = heldValue(book, held, heldObj, '', c.texts[0]!);
        data = kept === MISS ? decode(c.texts[0]!) : kept;
        same = kept !== MISS && book.mode === 'v';
      } else {
        data = undefined;
        same = held === undefined && book.mode === 'v';
      }
      if (c.set.length > 0) entries.set('', { seq: 0, at: c.at, sig: c.sigs[0] ?? '', text: c.texts[0]! });
    } else {
      const obj: Record<string, unknown> = {};
      const heldKeys = heldObj ? Object.keys(heldObj) : undefined;
      same = heldKeys !== undefined && heldKeys.length === c.set.length;
      for (let i = 0; i < c.set.length; i++) {
        const key = c.set[i]!;
        const text = c.texts[i]!;
        const kept = heldValue(book, held, heldObj, key, text);
        put(obj, key, kept === MISS ? decode(text) : kept);
        if (kept === MISS || heldKeys?.[i] !== key) same = false;
        entries.set(key, { seq: ++seq, at: c.at, sig: c.sigs[i] ?? '', text });
      }
      data = obj;
    }
  } else {
    if (mode === 'v') entries.clear();
    same = mode === 'c' && heldObj !== undefined;
    mode = 'c';
    const obj: Record<string, unknown> = { ...(heldObj ?? {}) };
    for (let i = 0; i < c.set.length; i++) {
      const key = c.set[i]!;
      const text = c.texts[i]!;
      const kept = heldValue(book, held, heldObj, key, text);
      put(obj, key, kept === MISS ? decode(text) : kept);
      if (kept === MISS) same = false;
      entries.set(key, { seq: entries.get(key)?.seq ?? ++seq, at: c.at, sig: c.sigs[i] ?? '', text });
    }
    for (const key of c.del) {
      if (Object.hasOwn(obj, key)) same = false;
      delete obj[key];
      entries.delete(key);
    }
    data = obj;
  }
  return {
    state: { ...state, version: c.version, hash: c.hash, data: (same ? held : data) as T | undefined },
    book: { ...book, mode, seq, wt: c.at, entries },
  };
}

const MISS: unique symbol = Symbol('miss');

/** The value held for `key` if its text is `text` (value mode: key ''), else MISS. */
function heldValue(book: Book, held: unknown, heldObj: Record<string, unknown> | undefined, key: string, text: string): unknown {
  if (book.entries.get(key)?.text !== text) return MISS;
  if (key === '' && book.mode === 'v') return held;
  return heldObj && Object.hasOwn(heldObj, key) ? heldObj[key] : MISS;
}

/**
 * The data of a state read whole (`after`), with every value whose text is
 * the one held in `before` replaced by the object held, and the data held
 * itself when nothing changed (same keys, same order, same texts).
 */
export function keepHeld<T>(before: { readonly data: T | undefined; readonly book: Book }, after: { readonly data: T | undefined; readonly book: Book }): T | undefined {
  const a = after.book;
  const b = before.book;
  if (a.mode !== b.mode) return after.data;
  if (a.mode === 'v') return b.entries.get('')?.text === a.entries.get('')?.text && (a.entries.size > 0 || before.data === undefined) ? before.data : after.data;
  const held = before.data as unknown;
  const next = after.data as unknown;
  if (!isRecord(held) || !isRecord(next)) return after.data;
  const heldKeys = Object.keys(held);
  const nextKeys = Object.keys(next);
  let same = heldKeys.length === nextKeys.length;
  const data: Record<string, unknown> = {};
  nextKeys.forEach((k, i) => {
    const kept = Object.hasOwn(held, k) && b.entries.get(k)?.text === a.entries.get(k)?.text;
    put(data, k, kept ? held[k] : next[k]);
    if (!kept || heldKeys[i] !== k) same = false;
  });
  return (same ? held : data) as T;
}

/** Sets an own property, whatever its name (`__proto__` too: never the object's prototype). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Which of the versions a node holds (up to `own`) a state read from Redis
 * says were lost: those from the loss's first, when the node held one and
 * the state went on above them; undefined when the node lost nothing.
 */
export function lostBy(own: Head, stored: { readonly cluster: string; readonly version: number }, lost: Book['lost']): { from: number; to: number } | undefined {
  if (!lost || stored.cluster !== own.cluster || own.version >= lost.version || own.version < lost.from) return undefined;
  return { from: lost.from, to: own.version };
}

/** The keys whose value differs between two data values (config mode; for `onKey`). */
export function changedKeys(before: unknown, after: unknown): string[] {
  const a = isRecord(before) ? before : {};
  const b = isRecord(after) ? after : {};
  const out: string[] = [];
  for (const key of Object.keys(a)) if (!Object.hasOwn(b, key) || a[key] !== b[key]) out.push(key);
  for (const key of Object.keys(b)) if (!Object.hasOwn(a, key)) out.push(key);
  return out;
}

export const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && Object.getPrototypeOf(x) === Object.prototype;
