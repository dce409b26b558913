/**
 * A node's side of the state in Redis: the cluster's hash read whole and
 * parsed, the scripts called with their keys, the node keys and the
 * registry. Every Redis name comes from {@link Keys}; every script from
 * lib/scripts.
 */
import { randomBytes } from 'node:crypto';
import { deserializeForeign, FORBIDDEN_KEYS, serialize } from '../codec.js';
import { WRITE_RECORD_TTL_MS } from '../constants.js';
import { PersistenceError } from '../errors.js';
import { parseEntry } from '../model/housekeeping.js';
import type { ClusterEntry, TickReply } from '../model/housekeeping.js';
import type { Book, DataMode, Entry, State } from '../model/state.js';
import { Scripts } from '../scripts/scripts.js';
import type { Reply } from '../scripts/scripts.js';
import type { Signer } from '../signing.js';
import type { Durability } from '../options.js';
import { DurabilityError } from '../errors.js';
import type { Connection } from '../transport/connection.js';
import { headerPrefix } from '../transport/frames.js';
import type { Keys } from '../transport/keys.js';

/** A state read from Redis, with what is needed to write it back. */
export interface Stored<T> {
  readonly state: State<T>;
  readonly book: Book;
}

/** What a node key holds: the cluster this node was last in, and when it was last seen. */
export interface NodeKey {
  readonly cluster: string | undefined;
  readonly version: number;
  readonly nodes: readonly string[];
  readonly seen: number;
  /** The gossip interval of its cluster: it refreshes `seen` that often. */
  readonly gossipIntervalMs: number;
  /** When it last stopped (0: never), by Redis's clock. */
  readonly stopped: number;
}

export type CommitReply =
  | { readonly kind: 'ok' | 'dup'; readonly version: number; readonly hash: string; readonly prev: string; readonly at: number }
  | { readonly kind: 'noop' | 'conflict' | 'not_member' | 'not_object'; readonly version: number; readonly hash: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'stale'; readonly now: number };

export type MetaReply =
  | { readonly kind: 'ok'; readonly version: number; readonly hash: string; readonly prev: string; readonly at: number }
  | { readonly kind: 'conflict'; readonly version: number; readonly hash: string }
  | { readonly kind: 'missing' };

export type MergeReply = { readonly kind: 'ok'; readonly version: number; readonly hash: string } | { readonly kind: 'conflict' | 'missing'; readonly side: 'target' | 'absorbed' };

export interface StoreOptions {
  /** Commits wait for this many replicas (a pipelined WAIT). */
  readonly durability?: Durability | undefined;
  readonly self: string;
  /** A client that is not a member (the CLI): its writes go to every member. */
  readonly observer?: boolean;
  readonly namespace: string;
  readonly conn: Connection;
  readonly keys: Keys;
  readonly signer: Signer | undefined;
  readonly nodeKeyTtlMs: number;
  readonly replayWindowMs: number;
}

/** A data write as the commit script takes it. */
export interface WriteRequest {
  readonly cluster: string;
  readonly writeId: string;
  /** '' for an unconditional write. */
  readonly base: string;
  readonly sigLine: string;
  readonly metaText: string;
  readonly values: readonly string[];
}

export class Store {
  readonly #o: StoreOptions;
  readonly #scripts: Scripts;

  constructor(o: StoreOptions) {
    this.#o = o;
    this.#scripts = new Scripts(o.conn.cmd);
  }

  /** A script that commits: with `durability`, pipelined with a WAIT; fewer replicas than asked make a DurabilityError. */
  async #commitScript(name: 'commit' | 'meta' | 'merge', keys: readonly string[], args: ReadonlyArray<string | number>): Promise<Reply> {
    const d = this.#o.durability;
    if (!d) return this.#scripts.run(name, keys, args);
    const { reply, replicas } = await this.#scripts.runAndWait(name, keys, args, d.replicas, d.timeoutMs);
    if (String(reply[0]) === 'ok' && replicas < d.replicas) {
      throw Object.assign(new DurabilityError(Number(reply[1]), replicas, d.replicas), { reply });
    }
    return reply;
  }

  /** The size of the header line's part this node writes (the script adds the rest). */
  headerBytes(cluster: string): number {
    return this.#headerOf(cluster).bytes;
  }

  /** The last cluster's header prefix (it changes only when this node moves to another cluster). */
  #lastHeader = { cluster: '', text: '', bytes: 0 };

  #header(cluster: string): string {
    return this.#headerOf(cluster).text;
  }

  #headerOf(cluster: string): { text: string; bytes: number } {
    if (this.#lastHeader.cluster !== cluster) {
      const text = headerPrefix(this.#o.namespace, cluster, this.#o.self);
      this.#lastHeader = { cluster, text, bytes: Buffer.byteLength(text) };
    }
    return this.#lastHeader;
  }

  /** The cluster's state, or undefined when its hash is gone. Throws a PersistenceError for one that is not valid. */
  async read<T>(cluster: string): Promise<Stored<T> | undefined> {
    const fields = await this.#o.conn.cmd.hgetall(this.#o.keys.cluster(cluster));
    return parseStored<T>(cluster, fields, this.#o.signer);
  }

  async commit(w: WriteRequest): Promise<CommitReply> {
    const { keys, conn } = this.#o;
    const r = await this.#commitScript(
      'commit',
      [keys.cluster(w.cluster), keys.write(w.writeId)],
      [conn.publishCommand, keys.nodePrefix, this.#header(w.cluster), this.#o.observer ? '' : this.#o.self, w.base, WRITE_RECORD_TTL_MS, this.#o.replayWindowMs, w.sigLine, w.metaText, ...w.values],
    );
    return parseCommitReply(r);
  }
  /** Commits new members, leader or settings, if `base` is still the cluster's hash. */
  async meta(
    state: State,
    base: string,
    change: {
      nodes: readonly string[];
      leader: string;
      fanout: number;
      gossipIntervalMs: number;
      why: string;
      tell?: readonly string[];
      evicted?: string;
      minVersion?: number;
      lost?: { from: number; to: number };
    },
  ): Promise<MetaReply> {
    const { keys, conn } = this.#o;
    const description = JSON.stringify({ op: 'meta', why: change.why, id: randomId() });
    const r = await this.#commitScript(
      'meta',
      [keys.cluster(state.cluster), keys.clusters, keys.snapshot(change.evicted ?? this.#o.self)],
      [
        conn.publishCommand,
        keys.nodePrefix,
        this.#header(state.cluster),
        this.#o.self,
        base,
        description,
        change.nodes.join(' '),
        change.leader,
        change.fanout,
        change.gossipIntervalMs,
        (change.tell ?? []).join(' '),
        change.evicted ? '1' : '0',
        change.minVersion ?? 0,
        change.lost ? `${change.lost.from} ${change.lost.to}` : '',
      ],
    );
    const kind = String(r[0]);
    if (kind === 'ok') return { kind, version: num(r[1]), hash: String(r[2]), prev: String(r[3]), at: num(r[4]) };
    if (kind === 'conflict') return { kind, version: num(r[1]), hash: String(r[2]) };
    return { kind: 'missing' };
  }

  /** `absorbed`'s cluster joins `target`'s (both as the caller last saw them). */
  async merge(target: State, absorbed: State, nodes: readonly string[], leader: string): Promise<MergeReply> {
    const { keys, conn } = this.#o;
    const description = JSON.stringify({ op: 'merge', absorbed: absorbed.cluster, id: randomId() });
    const r = await this.#commitScript(
      'merge',
      [keys.cluster(target.cluster), keys.cluster(absorbed.cluster), keys.clusters],
      [conn.publishCommand, keys.nodePrefix, this.#header(target.cluster), this.#o.self, target.hash, absorbed.hash, nodes.join(' '), leader, description],
    );
    const kind = String(r[0]);
    if (kind === 'ok') return { kind, version: num(r[1]), hash: String(r[2]) };
    return { kind: kind === 'conflict' ? 'conflict' : 'missing', side: String(r[1]) === 'absorbed' ? 'absorbed' : 'target' };
  }

  /**
   * Writes a whole state where its cluster has none: 'create' (a cluster of
   * this node's own; its hash is computed there) or 'restore' (Redis lost it).
   */
  async put<T>(how: 'create' | 'restore', s: Stored<T>): Promise<{ created: boolean; version: number; hash: string; at: number }> {
    const { keys, conn } = this.#o;
    const { state, book } = s;
    const r = await this.#scripts.run(
      'put',
      [keys.cluster(state.cluster), keys.clusters, keys.restore(state.cluster), keys.snapshot(this.#o.self)],
      [
        conn.publishCommand,
        keys.nodePrefix,
        this.#header(state.cluster),
        this.#o.self,
        how,
        state.version,
        how === 'create' ? '' : state.hash,
        state.nodes.join(' '),
        state.leader,
        state.fanout,
        state.gossipIntervalMs,
        book.mode,
        book.wt,
        book.created,
        book.seq,
        this.#o.nodeKeyTtlMs,
        ...dataFields(state, book),
      ],
    );
    return { created: String(r[0]) === 'ok', version: num(r[1]), hash: String(r[2]), at: num(r[3] ?? 0) };
  }

  async tick(state: State): Promise<TickReply> {
    const { keys, conn, self } = this.#o;
    const r = await this.#scripts.run(
      'tick',
      [keys.cluster(state.cluster), keys.clusters, keys.snapshot(self), keys.snapshot(state.leader)],
      [self, this.#o.nodeKeyTtlMs, keys.node(state.leader), conn.numsubCommand],
    );
    if (String(r[0]) === 'missing') return { kind: 'missing', now: num(r[1]) };
    return {
      kind: 'ok',
      now: num(r[1]),
      head: { cluster: state.cluster, version: num(r[2]), hash: String(r[3]) },
      listed: num(r[4]) === 1,
      leader: String(r[5]),
      leaderSeen: num(r[6]),
      leaderListeners: num(r[7]),
    };
  }

  /**
   * Writes this node's key: the cluster it is in (and its version and members
   * then), with its TTL; `stoppedAt` when it stops (its id is free again).
   * A key a merge pointed at a newer cluster meanwhile keeps naming it
   * (node-key-1.lua): only the time is written.
   */
  async writeNodeKey(state: State, stoppedAt?: number, seenAt = Date.now()): Promise<void> {
    // Stopping: when; running: a sign of life too (a restarted leader is not taken for gone before its first tick).
    await this.#scripts.run(
      'nodeKey',
      [this.#o.keys.snapshot(this.#o.self)],
      [state.cluster, state.version, state.nodes.join(' '), state.gossipIntervalMs, stoppedAt !== undefined ? 'stopped' : 'seen', stoppedAt ?? seenAt, this.#o.nodeKeyTtlMs],
    );
  }

  /** What the commit of write `id` produced, while its record lasts: the version and hash. */
  async writeRecord(id: string): Promise<{ version: number; hash: string } | undefined> {
    const text = await this.#o.conn.cmd.get(this.#o.keys.write(id));
    const m = text === null ? null : /^(\d+) ([0-9a-f]+) /.exec(text);
    return m ? { version: Number(m[1]), hash: m[2]! } : undefined;
  }

  /** Writes other members' node keys where they are gone (after a restore): which cluster they are in; never their `seen`. */
  async writeNodeKeys(state: State, ids: readonly string[]): Promise<void> {
    const { keys, conn } = this.#o;
    const pipeline = conn.cmd.pipeline();
    for (const id of ids) {
      const key = keys.snapshot(id);
      pipeline.hsetnx(key, 'c', state.cluster).hsetnx(key, 'v', state.version).hsetnx(key, 'nodes', state.nodes.join(' ')).hsetnx(key, 'gi', state.gossipIntervalMs).pexpire(key, this.#o.nodeKeyTtlMs);
    }
    await pipeline.exec();
  }

  async nodeKey(id: string): Promise<NodeKey | undefined> {
    const f = await this.#o.conn.cmd.hgetall(this.#o.keys.snapshot(id));
    return parseNodeKey(f);
  }

  /** When each member last refreshed its node key (0 where it is gone), and when it last stopped (0: never). */
  async seen(ids: readonly string[]): Promise<Array<{ id: string; seen: number; stopped: number }>> {
    const cmd = this.#o.conn.cmd;
    const got = await Promise.all(ids.map((id) => cmd.hmget(this.#o.keys.snapshot(id), 'seen', 'stopped')));
    return ids.map((id, i) => ({ id, seen: Number(got[i]?.[0] ?? 0) || 0, stopped: Number(got[i]?.[1] ?? 0) || 0 }));
  }

  async registry(): Promise<ClusterEntry[]> {
    const f = await this.#o.conn.cmd.hgetall(this.#o.keys.clusters);
    return Object.entries(f).flatMap(([id, text]) => parseEntry(id, text) ?? []);
  }

  /** Claims this node's id while it starts (SET NX): its token, or undefined when another process is starting with it. */
  async claim(ms: number): Promise<string | undefined> {
    const token = randomId();
    return (await this.#o.conn.cmd.set(this.#o.keys.claim(this.#o.self), token, 'PX', ms, 'NX')) === 'OK' ? token : undefined;
  }

  /** Gives the claim up once started (the id is held by the live node's key from then on). */
  async release(token: string): Promise<void> {
    const key = this.#o.keys.claim(this.#o.self);
    if ((await this.#o.conn.cmd.get(key)) === token) await this.#o.conn.cmd.del(key);
  }

  /** Takes the restore lock of `cluster` for `ms`; true if this node holds it now. */
  async lockRestore(cluster: string, ms: number): Promise<boolean> {
    return (await this.#o.conn.cmd.set(this.#o.keys.restore(cluster), this.#o.self, 'PX', ms, 'NX')) === 'OK';
  }

  async exists(cluster: string): Promise<boolean> {
    return (await this.#o.conn.cmd.exists(this.#o.keys.cluster(cluster))) === 1;
  }

  /** Redis's clock (ms). */
  async time(): Promise<number> {
    const [s, us] = await this.#o.conn.cmd.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }
}

/** A commit script's reply, typed. */
export function parseCommitReply(r: Reply): CommitReply {
  const kind = String(r[0]) as CommitReply['kind'];
  switch (kind) {
    case 'ok':
    case 'dup':
      return { kind, version: num(r[1]), hash: String(r[2]), prev: String(r[3]), at: num(r[4]) };
    case 'missing':
      return { kind };
    case 'stale':
      return { kind, now: num(r[1]) };
    default:
      return { kind, version: num(r[1]), hash: String(r[2]) };
  }
}

/** The data fields of a state, as the scripts store them: 'd' or 'k:<key>' → '<seq>:<time>:<sig>:<text>'. */
export function dataFields(state: State, book: Book): string[] {
  const out: string[] = [];
  if (book.mode === 'v') {
    if (state.data === undefined) return out;
    const e = book.entries.get('');
    out.push('d', `0:${e?.at ?? book.wt}:${e?.sig ?? ''}:${e?.text ?? serialize(state.data)}`);
    return out;
  }
  for (const [key, value] of Object.entries(state.data as Record<string, unknown>)) {
    const e = book.entries.get(key);
    out.push(`k:${key}`, `${e?.seq ?? 0}:${e?.at ?? book.wt}:${e?.sig ?? ''}:${e?.text ?? serialize(value)}`);
  }
  return out;
}

/** What a signature of a stored value covers: its key ('' for a whole value) and its text. */
export const storedPayload = (key: string, text: string): string => `${key}\n${text}`;

/** A cluster's hash, parsed; undefined when it is gone. */
export function parseStored<T>(cluster: string, f: Record<string, string>, signer: Signer | undefined): Stored<T> | undefined {
  if (f.v === undefined) return undefined;
  const bad = (what: string) => new PersistenceError(`the state of cluster ${cluster} in Redis is not valid: ${what}`);
  const version = Number(f.v);
  if (!Number.isSafeInteger(version) || version < 1) throw bad(`version ${f.v}`);
  if (typeof f.h !== 'string' || !/^[0-9a-f]{40}$/.test(f.h)) throw bad('hash');
  const nodes = (f.nodes ?? '').split(' ').filter((n) => n !== '');
  if (nodes.length === 0 || typeof f.leader !== 'string') throw bad('members');
  const mode: DataMode = f.mode === 'c' ? 'c' : 'v';
  const entries = new Map<string, Entry>();
  const keyed: Array<{ key: string; seq: number; text: string }> = [];
  let whole: string | undefined;
  for (const [field, raw] of Object.entries(f)) {
    const isKey = field.startsWith('k:');
    if (field !== 'd' && !isKey) continue;
    const m = /^(\d+):(\d+):([A-Za-z0-9_-]*):/.exec(raw);
    if (!m) throw bad(`field ${field}`);
    const key = isKey ? field.slice(2) : '';
    if (FORBIDDEN_KEYS.has(key)) throw bad(`a key named "${key}"`);
    const text = raw.slice(m[0].length);
    const sig = m[3]!;
    if (signer && !signer.verify(sig, storedPayload(key, text))) throw bad(`the value of ${isKey ? `key "${key}"` : 'the data'} is not signed by a known secret`);
    entries.set(key, { seq: Number(m[1]), at: Number(m[2]), sig, text });
    if (isKey) keyed.push({ key, seq: Number(m[1]), text });
    else whole = text;
  }
  let data: unknown;
  try {
    if (mode === 'v') {
      data = whole === undefined ? undefined : deserializeForeign(whole);
    } else {
      const obj: Record<string, unknown> = {};
      for (const k of keyed.sort((a, b) => a.seq - b.seq)) obj[k.key] = deserializeForeign(k.text);
      data = obj;
    }
  } catch (err) {
    throw bad(`a value does not decode (${(err as Error).message})`);
  }
  const state: State<T> = {
    cluster,
    version,
    hash: f.h,
    data: data as T | undefined,
    leader: f.leader,
    nodes,
    fanout: positive(f.fanout, 2),
    gossipIntervalMs: positive(f.gi, 15_000),
  };
  const lost = /^(\d+) (\d+) (\d+)$/.exec(f.lost ?? '');
  const book: Book = {
    mode,
    wt: Number(f.wt ?? 0) || 0,
    seq: Number(f.seq ?? 0) || 0,
    created: Number(f.created ?? 0) || 0,
    entries,
    ...(lost ? { lost: { from: Number(lost[1]), to: Number(lost[2]), version: Number(lost[3]) } } : {}),
  };
  return { state, book };
}

function parseNodeKey(f: Record<string, string>): NodeKey | undefined {
  if (Object.keys(f).length === 0) return undefined;
  return {
    cluster: f.c || undefined,
    version: Number(f.v ?? 0) || 0,
    nodes: (f.nodes ?? '').split(' ').filter((n) => n !== ''),
    seen: Number(f.seen ?? 0) || 0,
    gossipIntervalMs: positive(f.gi, 15_000),
    stopped: Number(f.stopped ?? 0) || 0,
  };
}

function num(x: string | number | undefined): number {
  return Number(x ?? 0);
}

function positive(x: string | undefined, dflt: number): number {
  const n = Number(x);
  return Number.isSafeInteger(n) && n >= 1 ? n : dflt;
}

/** A write id (or a change's): 72 random bits. */
export function randomId(): string {
  return randomBytes(9).toString('base64url');
}

/** This process's write-id prefix: 72 random bits, drawn once. */
const WRITE_ID_PREFIX = randomBytes(9).toString('base64url');
let writeCount = 0;

/**
 * A write id unique across processes and time (the process's random prefix
 * and a counter), without drawing random bytes for each write.
 */
export function writeId(): string {
  return `${WRITE_ID_PREFIX}${(writeCount++).toString(36)}`;
}

export type { Reply };
