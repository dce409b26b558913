/**
 * The node's inbox: every input — a change a script published, a message
 * from another node, this node's own commit, a state read from Redis — goes
 * through one synchronous step, so each state change is atomic. The rules
 * (what a change or a head means, how a change applies) are lib/model's;
 * this holds the state and carries out what they decide: the frozen copy,
 * the events, the reads from Redis.
 */
import { deserialize, deserializeForeign, holdText } from '../codec.js';
import { MAX_VERSION_HOLD_MS, OWN_CHANGE_WAIT_MS } from '../constants.js';
import { BadMessageError, GossipError } from '../errors.js';
import { EventBus } from '../events.js';
import { deepFreeze } from '../freeze.js';
import type { Metrics } from '../metrics.js';
import { chainHash } from '../model/chain.js';
import { applyData, changedKeys, headOf, isRecord, judgeChange, judgeHead, keepHeld, lostBy } from '../model/state.js';
import type { Book, DataChange, Head, State } from '../model/state.js';
import type { EventMode, Logger } from '../options.js';
import type { RedisClock } from '../transport/clock.js';
import type { AnyEnvelope, Envelope } from '../transport/envelope.js';
import type { ChangeFrame } from '../transport/frames.js';
import type { Messages } from '../transport/messages.js';
import { Hold } from './hold.js';
import type { Store, Stored } from './store.js';

/** Every input of the step: one entry each. */
export type Input =
  | { readonly kind: 'change'; readonly frame: ChangeFrame; readonly verified?: boolean }
  | { readonly kind: 'envelope'; readonly env: Exclude<AnyEnvelope, Envelope<'reply'> | Envelope<'ack'>> }
  | { readonly kind: 'committed'; readonly change: DataChange }
  | { readonly kind: 'stored'; readonly stored: Stored<unknown> };

export type KeyListener = (value: unknown, info: { readonly version: number }) => void;

export interface InboxDeps {
  readonly self: string;
  readonly eventMode: EventMode;
  readonly logger: Logger;
  readonly clock: RedisClock;
  readonly metrics: Metrics;
  readonly store: Store;
  readonly messages: Messages;
  /** Changes are signed: one stamped before the last read is checked against Redis first. */
  readonly signed: boolean;
  /** A read found this node no longer listed in its cluster. */
  readonly onUnlisted: () => Promise<void>;
  /** A read found the cluster's state gone from Redis. */
  readonly onMissing: () => Promise<void>;
  /** The anti-entropy period changed. */
  readonly onIntervalChange: () => void;
  readonly isRunning: () => boolean;
  /** Whether a new state's data may be installed (the `schema` option; it reports what it refuses), or a Promise of it. */
  readonly admit?: (state: State<unknown>) => boolean | Promise<boolean>;
}

/** How many versions' hashes a node remembers. */
const HASHES_KEPT = 1_024;

export const EMPTY_BOOK: Book = { mode: 'v', wt: 0, seq: 0, created: 0, entries: new Map() };

export class Inbox<T> {
  readonly #d: InboxDeps;
  readonly events: EventBus<T, State<T>>;
  #state!: State<T>;
  #book: Book = EMPTY_BOOK;
  #stopped = false;
  /** The highest version of this node's cluster it has been shown (for the version lag). */
  #seenVersion = 0;
  /**
   * Redis's time when this node last took a state whole from Redis: with a
   * secret, a change stamped before it is checked against Redis's write
   * records before it is applied (a replay of a captured frame is not there).
   */
  #trustedAfter = 0;
  /** The hashes of the versions this node held lately, in its cluster (to name what a failover lost). */
  readonly #hashes = new Map<number, string>();
  /** Own changes whose predecessor has not arrived yet, by the hash they follow. */
  readonly #ownPending = new Map<string, DataChange>();
  readonly #versionWaiters = new Set<{ readonly atLeast: number; readonly done: () => void }>();
  readonly #keyListeners = new Map<string, Set<KeyListener>>();
  /** Inputs that arrived before the first state. */
  readonly #early: Input[] = [];
  /** The read in flight per cluster, and whether another was asked for meanwhile. */
  readonly #reads = new Map<string, { again: boolean; done: Promise<void> }>();
  /** Inputs waiting behind a state's async schema check. */
  readonly #hold = new Hold<Input>();

  constructor(deps: InboxDeps) {
    this.#d = deps;
    this.events = new EventBus<T, State<T>>(deps.eventMode, deps.logger);
  }

  get state(): State<T> {
    return this.#state;
  }
  get book(): Book {
    return this.#book;
  }
  /** The hash this node held at `version` of its cluster, if it held that version lately. */
  hashAt(version: number): string | undefined {
    return this.#hashes.get(version);
  }

  #remember(state: State<T>, previousCluster: string | undefined): void {
    if (state.cluster !== previousCluster) this.#hashes.clear();
    this.#hashes.set(state.version, state.hash);
    // Insertion order is version order: the oldest go first.
    if (this.#hashes.size > HASHES_KEPT) this.#hashes.delete(this.#hashes.keys().next().value!);
  }

  get versionLag(): number {
    return Math.max(0, this.#seenVersion - this.#state.version);
  }

  /** The first state this node holds (no events: nobody subscribed yet). */
  adopt(stored: Stored<T>): void {
    this.#trustedAfter = this.#d.clock.now();
    this.#state = freezeState(stored.state, stored.book);
    this.#book = stored.book;
    this.#seenVersion = stored.state.version;
    this.#remember(this.#state, undefined);
    for (const input of this.#early.splice(0)) this.step(input);
  }

  step(input: Input): void {
    if (this.#stopped) return;
    if ((this.#state as State<T> | undefined) === undefined) {
      // Subscribed, still reading its first state: what arrives meanwhile waits for it (stale ones are dropped then).
      this.#early.push(input);
      return;
    }
    if (this.#hold.queued(input)) return;
    switch (input.kind) {
      case 'change':
        this.#onChange(input.frame, input.verified === true);
        return;
      case 'envelope':
        this.#onEnvelope(input.env);
        return;
      case 'committed':
        this.#onCommitted(input.change);
        return;
      case 'stored':
        this.#onStored(input.stored as Stored<T>);
        return;
    }
  }

  #onChange(frame: ChangeFrame, verified: boolean): void {
    const { header: h, meta } = frame;
    const own = headOf(this.#state);
    if (h.c === own.cluster && h.n > this.#seenVersion) this.#seenVersion = h.n;
    const isData = meta.op === 'set' || meta.op === 'patch';
    const verdict = judgeChange(own, { cluster: h.c, version: h.n, prev: h.p, data: isData });
    const m = this.#d.metrics;
    if (verdict === 'stale') {
      m.count('changes.stale');
      if (isData && meta.ack) this.#ack(h.from, h.c, h.n);
      return;
    }
    if (verdict === 'read' || !isData) {
      m.count('changes.read');
      if (isData && h.c === own.cluster) m.behind(h.c, h.n);
      this.readSoon(h.c);
      return;
    }
    if (chainHash(h.p, h.n, frame.metaText) !== h.h) {
      m.drop('bad_shape', Date.now());
      this.#report(new GossipError('bad_message', `a change to version ${h.n} does not match its hash chain; reading the state instead`));
      this.readSoon(own.cluster);
      return;
    }
    if (this.#d.signed && !verified && meta.ts < this.#trustedAfter) {
      // Stamped before this node last read the state: a genuine change is in Redis's write records, a replay is not.
      this.#verify(frame);
      return;
    }
    let next: { state: State<T>; book: Book };
    try {
      next = applyData(
        this.#state,
        this.#book,
        {
          version: h.n,
          hash: h.h,
          prev: h.p,
          at: h.at,
          op: meta.op,
          ...(meta.mode ? { mode: meta.mode } : {}),
          set: meta.set,
          texts: frame.values,
          sigs: meta.sigs ?? [],
          del: meta.del ?? [],
        },
        deserializeForeign,
      );
    } catch (err) {
      this.#report(new GossipError('bad_message', `a change to version ${h.n} does not decode: ${(err as Error).message}`));
      this.readSoon(own.cluster);
      return;
    }
    m.count('changes.applied');
    this.install(next.state, next.book);
    if (meta.ack) this.#ack(h.from, h.c, h.n);
  }

  /** Tells `writer`, who waits for its members, that this node holds `version` of `cluster` (if it does: a schema may hold it back). */
  #ack(writer: string, cluster: string, version: number): void {
    const s = this.#state;
    if (writer === this.#d.self || s.cluster !== cluster || s.version < version) return;
    this.#d.messages.send(writer, 'ack', headOf(s)).catch(() => this.#d.metrics.count('acksFailed'));
  }

  /** Checks a change against the record its commit left in Redis, then applies it, or drops it as a replay. */
  #verify(frame: ChangeFrame): void {
    const w = (frame.meta as { w: string }).w;
    this.#d.store.writeRecord(w).then(
      (rec) => {
        if (rec?.version === frame.header.n && rec.hash === frame.header.h) {
          this.step({ kind: 'change', frame, verified: true });
        } else if (this.#d.metrics.drop('replay', Date.now())) {
          this.#report(new BadMessageError('replay', `change ${w} to version ${frame.header.n} is not what Redis committed for it: a replay`));
        }
      },
      (err: unknown) => this.#report(err),
    );
  }

  #onCommitted(change: DataChange): void {
    const s = this.#state;
    if (s.version >= change.version) return;
    if (s.version === change.version - 1 && s.hash === change.prev) {
      const next = applyData(s, this.#book, change, deserialize);
      this.install(next.state, next.book);
      return;
    }
    // The changes before it are on their way: apply it after them, or read.
    this.#ownPending.set(change.prev, change);
    setTimeout(() => {
      if (this.#ownPending.get(change.prev) === change && this.#state.version < change.version) {
        this.#ownPending.delete(change.prev);
        this.readSoon(this.#state.cluster);
      }
    }, OWN_CHANGE_WAIT_MS).unref();
  }

  #onStored(stored: Stored<T>): void {
    const s = this.#state;
    const next = stored.state;
    if (!next.nodes.includes(this.#d.self)) return;
    // Versions never go down: another cluster's state is taken only above this one (a merge's always is).
    if (next.version < s.version || (next.cluster !== s.cluster && next.version === s.version)) return;
    if (next.cluster === s.cluster && next.version === s.version && next.hash === s.hash) return;
    const lost = lostBy(headOf(s), next, stored.book.lost);
    if (lost) this.#report(new GossipError('lost_commits', `Redis no longer holds versions ${lost.from}–${lost.to} of cluster ${s.cluster} (a failover?); the cluster goes on from Redis's state`));
    this.#trustedAfter = this.#d.clock.now();
    this.install({ ...next, data: keepHeld({ data: s.data, book: this.#book }, { data: next.data, book: stored.book }) }, stored.book);
  }

  #onEnvelope(env: Exclude<AnyEnvelope, Envelope<'reply'> | Envelope<'ack'>>): void {
    const messages = this.#d.messages;
    switch (env.type) {
      case 'head':
        this.#onHead(env.body, env.from);
        return;
      case 'vsn':
        messages.answer(env, () => this.whenVersion(env.body.atLeast ?? 0, Math.min(env.body.waitMs ?? 0, MAX_VERSION_HOLD_MS)));
        return;
      case 'headreq':
        messages.answer(env, () => headOf(this.#state));
        return;
      case 'restore':
        messages.answer(env, async () => {
          await this.#d.store.put('restore', { state: this.#state, book: this.#book });
          return headOf(this.#state);
        });
        return;
    }
  }

  #onHead(theirs: Head, from: string): void {
    const own = headOf(this.#state);
    const member = this.#state.nodes.includes(from);
    if (member && theirs.cluster === own.cluster && theirs.version > this.#seenVersion) this.#seenVersion = theirs.version;
    switch (judgeHead(own, theirs)) {
      case 'behind':
      case 'diverged':
        if (member && theirs.version > own.version) this.#d.metrics.behind(own.cluster, theirs.version);
        this.readSoon(own.cluster);
        return;
      case 'ahead':
        if (member) this.sendHead(from);
        return;
      case 'foreign':
        // It gossips as if it were elsewhere: tell it where this cluster is, and check that this node still is.
        if (!member) this.sendHead(from);
        else this.readSoon(own.cluster);
        return;
      case 'same':
        return;
    }
  }

  sendHead(to: string): void {
    this.#d.messages.send(to, 'head', headOf(this.#state)).catch(() => this.#d.metrics.count('headsFailed'));
  }

  /** Makes `next` this node's state: the frozen copy, the events, the node key if the membership changed. */
  install(next: State<T>, book: Book): void {
    const prev = this.#state;
    // Values the node held already (kept by applyData and keepHeld) are frozen already, and the same data is no 'data' event.
    // New data the schema refuses is not installed: the node keeps its state (and catches up once it is valid again).
    if (next.data !== prev.data && this.#d.admit && !this.#admitted(next, () => this.install(next, book))) return;
    const state = freezeState(next, book, prev);
    this.#state = state;
    this.#book = book;
    if (state.version > this.#seenVersion || state.cluster !== prev.cluster) this.#seenVersion = state.version;
    this.#remember(state, prev.cluster);
    this.#d.metrics.holds(state.cluster, state.version);
    this.events.emit('rumor', state);
    if (state.data !== prev.data) {
      this.events.emit('data', { data: state.data, version: state.version });
      this.#notifyKeys(prev.data, state.data, state.version);
    }
    if (state.cluster !== prev.cluster || !sameList(state.nodes, prev.nodes)) {
      this.#d.metrics.count('nodeKeyWrites');
      this.#d.store.writeNodeKey(state, undefined, this.#d.clock.now()).catch((err: unknown) => this.#report(err));
    }
    if (state.gossipIntervalMs !== prev.gossipIntervalMs) this.#d.onIntervalChange();
    for (const w of this.#versionWaiters) if (state.version >= w.atLeast) w.done();
    const pending = this.#ownPending.get(state.hash);
    if (pending) {
      this.#ownPending.delete(state.hash);
      this.#onCommitted(pending);
    }
  }

  /** Whether `state` passes the schema now; an async check holds the inputs and installs it after, if nothing came in between. */
  #admitted(state: State<T>, install: () => void): boolean {
    const verdict = this.#d.admit!(state);
    if (typeof verdict === 'boolean') return verdict;
    const before = this.#state;
    this.#hold.until(
      verdict,
      (ok) => {
        if (ok && this.#state === before && !this.#stopped) install();
      },
      (input) => this.step(input),
    );
    return false;
  }

  // ---- listeners of one key ---------------------------------------------

  onKey(key: string, fn: KeyListener): () => void {
    let set = this.#keyListeners.get(key);
    if (!set) this.#keyListeners.set(key, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#keyListeners.delete(key);
    };
  }

  #notifyKeys(before: unknown, after: unknown, version: number): void {
    if (this.#keyListeners.size === 0) return;
    for (const key of changedKeys(before, after)) {
      const listeners = this.#keyListeners.get(key);
      if (!listeners) continue;
      // A key set again to the same text keeps its object: changedKeys does not list it.
      const value = isRecord(after) ? after[key] : undefined;
      for (const fn of listeners) {
        try {
          fn(value, { version });
        } catch (err) {
          this.#report(new GossipError('subscriber_failed', `an onKey('${key}') listener threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        }
      }
    }
  }

  // ---- reads from Redis --------------------------------------------------

  /** {@link read}, its failure reported (it has no caller). */
  readSoon(cluster: string): void {
    this.read(cluster).catch((err: unknown) => this.#report(err));
  }

  /** Reads `cluster`'s state and installs it if it is news; one read in flight per cluster (a second ask reads again after it). */
  read(cluster: string): Promise<void> {
    const inFlight = this.#reads.get(cluster);
    if (inFlight) {
      inFlight.again = true;
      return inFlight.done;
    }
    const slot = { again: false, done: Promise.resolve() };
    slot.done = (async () => {
      let unlisted: boolean;
      let missing: boolean;
      try {
        do {
          slot.again = false;
          const stored = await this.#d.store.read<T>(cluster);
          this.#d.metrics.count('reads');
          const own = cluster === this.#state.cluster;
          unlisted = stored !== undefined && own && !stored.state.nodes.includes(this.#d.self);
          missing = stored === undefined && own;
          if (stored && !unlisted) this.step({ kind: 'stored', stored });
        } while (slot.again);
      } finally {
        this.#reads.delete(cluster);
      }
      // After the slot is free: what follows reads again (a rejoin reads the cluster it joins).
      if (unlisted) await this.#d.onUnlisted();
      else if (missing && this.#d.isRunning()) await this.#d.onMissing();
    })();
    this.#reads.set(cluster, slot);
    return slot.done;
  }

  /** After an updater's conflict: wait for the change that beat it (it is on its way), else read. */
  async catchUp(version: number): Promise<void> {
    if (this.#state.version >= version) return;
    await this.whenVersion(version, OWN_CHANGE_WAIT_MS);
    if (this.#state.version < version) await this.read(this.#state.cluster);
  }

  /** This node's own write, committed: installed from the answer; resolves once it holds it. */
  async committed(change: DataChange, waitMs: number): Promise<void> {
    this.step({ kind: 'committed', change });
    if (this.#state.version >= change.version) return;
    await this.whenVersion(change.version, waitMs);
    if (this.#state.version < change.version) await this.read(this.#state.cluster);
  }

  /** Resolves to this node's version once it is at least `atLeast`, or after `waitMs` with the version then. */
  whenVersion(atLeast: number, waitMs: number): Promise<number> {
    if (this.#state.version >= atLeast || waitMs <= 0 || this.#stopped) return Promise.resolve(this.#state.version);
    return new Promise((resolve) => {
      const waiter = {
        atLeast,
        done: () => {
          clearTimeout(timer);
          this.#versionWaiters.delete(waiter);
          resolve(this.#state.version);
        },
      };
      const timer = setTimeout(waiter.done, waitMs);
      timer.unref();
      this.#versionWaiters.add(waiter);
    });
  }

  /** Ignores every later input and lets every waiter go. */
  close(): void {
    this.#stopped = true;
    for (const w of this.#versionWaiters) w.done();
  }

  #report(err: unknown): void {
    this.events.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * The state, frozen; of config data, only the values that are new (those
 * kept from `prev` are frozen already). Each new value's text is remembered
 * with it (holdText), for the writes that hand it back.
 */
function freezeState<T>(s: State<T>, book: Book, prev?: State<T>): State<T> {
  const before = prev?.data;
  let data = s.data;
  if (data !== before && isRecord(data)) {
    const kept = isRecord(before) ? before : undefined;
    for (const k in data) {
      const v = data[k];
      if (v === kept?.[k]) continue;
      deepFreeze(v);
      const text = book.entries.get(k)?.text;
      if (text !== undefined && book.mode === 'c') holdText(v, text);
    }
    Object.freeze(data);
  } else if (data !== before) {
    data = deepFreeze(data);
    const text = book.entries.get('')?.text;
    if (text !== undefined && book.mode === 'v') holdText(data, text);
  }
  const nodes = prev && (s.nodes === prev.nodes || sameList(s.nodes, prev.nodes)) ? prev.nodes : Object.freeze([...s.nodes]);
  return Object.freeze({ ...s, data, nodes });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((x, i) => x === b[i]));
}
