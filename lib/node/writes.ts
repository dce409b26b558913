/**
 * A node's writes: each one a single commit script call with a write id of
 * its own, retried with that id until its outcome is known (so it is never
 * applied twice and never reported refused when it was applied); updaters
 * batched and re-run on a conflict; the caller's own change installed from
 * the script's answer.
 */
import { assertSerializable, FORBIDDEN_KEYS, heldText, isPlainJson, plainText, serialize } from '../codec.js';
import { MAX_UPDATE_RETRIES } from '../constants.js';
import { ConflictError, DurabilityError, GossipError, MessageTooLargeError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { foldOps } from '../model/ops.js';
import type { DataOp } from '../model/ops.js';
import { isRecord } from '../model/state.js';
import type { DataChange, DataMode, State } from '../model/state.js';
import type { Signer } from '../signing.js';
import type { RedisClock } from '../transport/clock.js';
import { signatureLine } from '../transport/frames.js';
import type { DataMeta } from '../transport/frames.js';
import { UpdateQueue, applyUpdaters } from '../updates.js';
import type { PendingUpdate, Updater } from '../updates.js';
import { storedPayload, writeId as newWriteId } from './store.js';
import { parseCommitReply } from './store.js';
import type { CommitReply, Reply, Store } from './store.js';

export type { DataOp };

/** What the node does for its writes. */
export interface WriterHost<T> {
  readonly store: Store;
  readonly clock: RedisClock;
  readonly signer: Signer | undefined;
  readonly maxMessageBytes: number;
  readonly metrics: Metrics;
  /** How long an unknown outcome is retried before the call rejects. */
  readonly retryForMs: number;
  state(): State<T>;
  /** Installs this node's own committed change; resolves once the node holds its version. */
  committed(change: DataChange): Promise<void>;
  /** Waits until this node holds at least `version` (the change that beat an updater is on its way), or reads it. */
  catchUp(version: number): Promise<void>;
  /** The commit found the cluster's state gone (Redis lost it): restore it, then the write goes on. */
  restore(): Promise<void>;
  /** The commit found this node no longer a member: settle where it belongs, then the write goes on. */
  rehome(): Promise<void>;
  assertRunning(): void;
  /** Checks the data an updater returns (the `schema` option): throws, or rejects, to refuse it. */
  readonly check?: (data: unknown) => void | Promise<void>;
}

/** What the script adds to the header line this node's prefix starts: the version, two hashes, the commit time. */
const HEADER_ALLOWANCE = 160;

/** A write call waiting for its commit. */
interface Queued {
  readonly op: DataOp;
  readonly e: Encoded;
  /** When the call was made (metrics.now()), for its write latency. */
  readonly started: number;
  readonly resolve: (version: number) => void;
  readonly reject: (err: unknown) => void;
}

export class Writer<T> {
  readonly #h: WriterHost<T>;
  readonly #updates: UpdateQueue<T>;
  /** Writes called while a commit is in flight: they go out together in the next (see foldOps). */
  readonly #queue: Queued[] = [];
  #committing = false;
  /** `…Sync` calls whose write is not committed yet: every write encoded meanwhile asks the members for acks. */
  #acking = 0;

  constructor(host: WriterHost<T>) {
    this.#h = host;
    this.#updates = new UpdateQueue<T>((batch) => this.#runUpdaters(batch));
  }

  /**
   * Commits `op` unconditionally; resolves to the version that holds it (this
   * node holds it too). Checked and encoded at once (a bad value rejects
   * here); committed at once when no commit of this node is in flight, else
   * with the writes queued meanwhile, in one commit.
   */
  write(op: DataOp): Promise<number> {
    const started = this.#h.metrics.now();
    let e: Encoded;
    try {
      this.#h.assertRunning();
      e = this.#encode(op);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, e, started, resolve, reject });
      if (!this.#committing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#queue.length > 0) {
        const { calls, e } = this.#group();
        try {
          const version = await this.#commitWrite(e);
          for (const c of calls) c.resolve(this.#h.metrics.timed('write', c.started, version));
        } catch (err) {
          for (const c of calls) c.reject(err);
        }
      }
    } finally {
      this.#committing = false;
    }
  }

  /** The calls at the head of the queue that commit as one, and what to commit. */
  #group(): { calls: Queued[]; e: Encoded } {
    const first = this.#queue.shift()!;
    const calls = [first];
    let op = first.op;
    let e: Encoded | undefined = first.e;
    for (let next = this.#queue[0]; next; next = this.#queue[0]) {
      const folded = foldOps(op, next.op);
      if (!folded) break;
      this.#queue.shift();
      calls.push(next);
      op = folded;
      // A set that replaces what came before commits as it was encoded; merged patches are encoded again.
      e = folded === next.op ? next.e : undefined;
    }
    if (e) return { calls, e };
    try {
      return { calls, e: this.#encode(op) };
    } catch {
      // Together too big for one message: the first alone, the others fold again after it.
      this.#queue.unshift(...calls.slice(1));
      return { calls: [first], e: first.e };
    }
  }

  async #commitWrite(encoded: Encoded): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const state = this.#h.state();
      const reply = await this.#commit(state, encoded, '');
      const done = await this.#settle(state, encoded, reply, attempt);
      if (done !== undefined) return done;
    }
  }

  /** Runs `write` (a call of this writer's) with its change, and any committed with it, asking every member that applies it for an ack. */
  async acked(write: () => Promise<number>): Promise<number> {
    this.#acking++;
    try {
      return await write();
    } finally {
      this.#acking--;
    }
  }

  /** Queues an updater; updaters queued together commit together, as one compare-and-set. */
  update(fn: Updater<T>): Promise<number> {
    const started = this.#h.metrics.now();
    return this.#updates.add(fn).then(() => this.#h.metrics.timed('write', started, this.#h.state().version));
  }

  rejectAll(err: unknown): void {
    this.#updates.rejectAll(err);
    for (const c of this.#queue.splice(0)) c.reject(err);
  }

  async #runUpdaters(batch: PendingUpdate<T>[]): Promise<void> {
    for (let attempt = 1; attempt <= MAX_UPDATE_RETRIES; attempt++) {
      this.#h.assertRunning();
      const state = this.#h.state();
      const { data, changed } = await applyUpdaters(batch, state.data, this.#h.check);
      if (batch.length === 0 || !changed) return;
      const encoded = this.#encode({ op: 'set', value: data });
      const reply = await this.#commit(state, encoded, state.hash);
      if (reply.kind === 'conflict') {
        await this.#h.catchUp(reply.version);
        continue;
      }
      if ((await this.#settle(state, encoded, reply, attempt)) !== undefined) return;
    }
    throw new ConflictError(MAX_UPDATE_RETRIES);
  }

  /** Calls the commit script with the write's id until the outcome is known. */
  async #commit(state: State<T>, e: Encoded, base: string): Promise<CommitReply> {
    const deadline = Date.now() + this.#h.retryForMs;
    for (;;) {
      this.#h.assertRunning();
      try {
        return await this.#h.store.commit({ cluster: state.cluster, writeId: e.writeId, base, sigLine: e.sigLine, metaText: e.metaText, values: e.values });
      } catch (err) {
        if (err instanceof DurabilityError) {
          // Committed, but not on enough replicas: installed like any commit, and the call rejects saying so.
          const reply = parseCommitReply((err as DurabilityError & { reply: Reply }).reply);
          if (reply.kind === 'ok') await this.#h.committed({ version: reply.version, hash: reply.hash, prev: reply.prev, at: reply.at, ...e.change });
          throw err;
        }
        // A lost connection or answer: the same write id makes the retry safe.
        if (Date.now() >= deadline) {
          throw new GossipError('outcome_unknown', `the write ${e.writeId} could not reach Redis within ${this.#h.retryForMs} ms; it may or may not be applied: ${(err as Error).message}`, {
            cause: err,
          });
        }
        await sleep(50);
      }
    }
  }

  /** What a commit's answer means: the version (done), or undefined to try again. */
  async #settle(state: State<T>, e: Encoded, reply: CommitReply, attempt: number): Promise<number | undefined> {
    switch (reply.kind) {
      case 'ok':
      case 'dup':
        await this.#h.committed({ version: reply.version, hash: reply.hash, prev: reply.prev, at: reply.at, ...e.change });
        return reply.version;
      case 'noop':
        return state.version;
      case 'not_object':
        throw new TypeError('setCfg/deleteCfg/patchCfg need the data to be an object of keys (or undefined)');
      case 'stale':
        this.#h.clock.observe(reply.now, Date.now());
        e.refresh(this.#h.clock.now());
        break;
      case 'missing':
        await this.#h.restore();
        break;
      case 'not_member':
        await this.#h.rehome();
        break;
      case 'conflict':
        // Only a compare-and-set conflicts; the updater loop handles it.
        await this.#h.catchUp(reply.version);
        return undefined;
    }
    if (attempt >= MAX_UPDATE_RETRIES) throw new GossipError('write_failed', `the write could not be committed after ${attempt} attempts (last answer: ${reply.kind})`);
    return undefined;
  }

  /** Encodes a write once: values checked, serialised, signed; refused when too big to send. */
  #encode(op: DataOp): Encoded {
    const keys: string[] = [];
    const texts: string[] = [];
    let mode: DataMode | undefined;
    let del: readonly string[] = [];
    if (op.op === 'set') {
      const fast = quickTexts(op.value);
      if (fast) {
        ({ mode } = fast);
        keys.push(...fast.keys);
        texts.push(...fast.texts);
      } else {
        assertSerializable(op.value);
        if (isRecord(op.value) && !reaches(op.value, op.value)) {
          mode = 'c';
          for (const k in op.value) {
            keys.push(k);
            texts.push(serialize(op.value[k]));
          }
        } else {
          mode = 'v';
          if (op.value !== undefined) {
            keys.push('');
            texts.push(serialize(op.value));
          }
        }
      }
    } else {
      for (const [k, v] of op.set) {
        if (typeof k !== 'string') throw new TypeError(`a config key must be a string, not ${typeof k}`);
        if (FORBIDDEN_KEYS.has(k)) throw new TypeError(`a config key cannot be named "${k}"`);
        let text = heldText(v);
        if (text === undefined) {
          assertSerializable(v, `value of "${k}"`);
          text = serialize(v);
        }
        keys.push(k);
        texts.push(text);
      }
      for (const k of op.del) if (FORBIDDEN_KEYS.has(k)) throw new TypeError(`a config key cannot be named "${k}"`);
      del = op.del;
    }
    const signer = this.#h.signer;
    const sigs = signer ? keys.map((k, i) => signer.signature(storedPayload(k, texts[i]!))) : undefined;
    const writeId = newWriteId();
    const change = { op: op.op, ...(mode ? { mode } : {}), set: keys, texts, sigs: sigs ?? [], del };
    const meta = { w: writeId, op: op.op, ...(mode ? { mode } : {}), set: keys, ...(del.length ? { del } : {}), ...(sigs ? { sigs } : {}), ...(this.#acking > 0 ? { ack: 1 as const } : {}) };
    const built = stamped(meta, texts, signer, this.#h.clock.now());
    // The frame every member gets: the script's header line, the signature line, the meta line, the values.
    const max = this.#h.maxMessageBytes;
    let chars = this.#h.store.headerBytes(this.#h.state().cluster) + HEADER_ALLOWANCE + built.metaText.length + built.sigLine.length + 2;
    for (const t of texts) chars += t.length + 1;
    // A UTF-16 unit is at most 3 bytes of UTF-8: count the bytes only when it might matter.
    if (chars * 3 > max) {
      const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), chars - texts.reduce((n, t) => n + t.length, 0) + Buffer.byteLength(built.metaText) - built.metaText.length);
      if (bytes > max) throw new MessageTooLargeError(bytes, max);
    }
    const encoded: Encoded = {
      writeId,
      values: texts,
      change,
      ...built,
      refresh(ts) {
        Object.assign(encoded, stamped(meta, texts, signer, ts));
      },
    };
    return encoded;
  }
}

interface Encoded {
  readonly writeId: string;
  metaText: string;
  sigLine: string;
  readonly values: readonly string[];
  readonly change: Omit<DataChange, 'version' | 'hash' | 'prev' | 'at'>;
  /** Re-stamps the write (after Redis said the stamp was outside the replay window). */
  refresh(ts: number): void;
}

/** The meta line and signature line of a write stamped `ts` (the stamp goes second, as DataMeta lists it). */
function stamped(meta: Omit<DataMeta, 'ts'>, texts: readonly string[], signer: Signer | undefined, ts: number): { metaText: string; sigLine: string } {
  const { w, ...rest } = meta;
  const metaText = JSON.stringify({ w, ts, ...rest } satisfies DataMeta);
  return { metaText, sigLine: signatureLine(signer, metaText, texts) };
}

/**
 * A whole value's keys and texts when no check is needed: every part is plain
 * JSON (a tree of plain objects, arrays, strings, booleans, null and finite
 * numbers) or a value this process holds (its text is known). Undefined for
 * anything else, which goes through the full check.
 */
function quickTexts(value: unknown): { mode: DataMode; keys: string[]; texts: string[] } | undefined {
  if (value === undefined) return { mode: 'v', keys: [], texts: [] };
  if (!isRecord(value)) {
    const text = heldText(value) ?? (isPlainJson(value) ? plainText(value) : undefined);
    return text === undefined ? undefined : { mode: 'v', keys: [''], texts: [text] };
  }
  const keys: string[] = [];
  const texts: string[] = [];
  for (const k in value) {
    if (FORBIDDEN_KEYS.has(k)) return undefined;
    const v = value[k];
    const text = heldText(v) ?? (isPlainJson(v, 1) ? plainText(v) : undefined);
    if (text === undefined) return undefined;
    keys.push(k);
    texts.push(text);
  }
  return { mode: 'c', keys, texts };
}

/** Whether `root` is reachable from inside `from` (a cycle through it: such a value is stored whole, not key by key). */
function reaches(from: unknown, root: object, seen = new Set<unknown>()): boolean {
  if (typeof from !== 'object' || from === null || seen.has(from)) return false;
  seen.add(from);
  const children = from instanceof Map ? [...from.keys(), ...from.values()] : from instanceof Set ? [...from] : Object.values(from);
  return children.some((c) => c === root || reaches(c, root, seen));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
