import { deleteCfgUpdater, setCfgUpdater } from '../cfg.js';
import { isRumor, roundTrip } from '../codec.js';
import type { Envelope, WriteOp } from '../codec.js';
import { CouldNotConnectError } from '../errors.js';
import type { Mailbox } from '../mailbox.js';
import type { Metrics } from '../metrics.js';
import { chooseLeader } from '../model/leader.js';
import * as R from '../model/rumor.js';
import type { Rumor } from '../model/rumor.js';
import type { ResolvedOptions } from '../options.js';
import { readSnapshot } from '../snapshot.js';
import type { SnapshotStore } from '../snapshot.js';
import type { Commands } from '../transport/connection.js';
import type { Keys } from '../transport/keys.js';
import { ANSWERED } from '../transport/wire.js';
import type { Wire } from '../transport/wire.js';
import type { Lease } from './lease.js';
import type { NodeState } from './state.js';

/** The answer a node gives to a write. */
export type WriteReply =
  | { readonly status: 'ok'; readonly rumor: Rumor }
  | { readonly status: 'conflict'; readonly rumor: Rumor }
  | { readonly status: 'redirect'; readonly leader: string; readonly rumor: Rumor };

interface Waiting {
  readonly op: WriteOp;
  readonly from: string;
  /** The request it came in, when it came from another node. */
  readonly request: Envelope<'write'> | undefined;
  /** Set once its answer went out with the commit (see {@link Lease.commit}). */
  answered?: boolean;
  readonly resolve: (reply: WriteReply | typeof ANSWERED) => void;
  readonly reject: (err: unknown) => void;
}

export interface LeaderDeps<T> {
  readonly self: string;
  readonly state: NodeState<T>;
  readonly wire: Wire;
  readonly mailbox: Mailbox;
  readonly snapshot: SnapshotStore<T>;
  /** Undefined when fencing is off. */
  readonly lease: Lease | undefined;
  readonly redis: Commands;
  readonly keys: Keys;
  readonly metrics: Metrics;
  readonly o: ResolvedOptions;
}

/**
 * The leader's duties: applying writes, taking over from a dead leader,
 * adding and removing members, and handing leadership over on a graceful
 * stop. Writes that arrive together are applied together (group commit): one
 * lease-checked snapshot write and one push for the whole batch.
 */
export class LeaderRole<T> {
  readonly #d: LeaderDeps<T>;
  readonly #queue: Waiting[] = [];
  #scheduled = false;

  constructor(deps: LeaderDeps<T>) {
    this.#d = deps;
  }

  /** Queues a write of this node's own for the mailbox; resolves to its answer. */
  submit(op: WriteOp): Promise<WriteReply> {
    return this.#enqueue(op, this.#d.self, undefined) as Promise<WriteReply>;
  }

  /**
   * Queues another node's write request; resolves to its answer, or to
   * {@link ANSWERED} when the answer went out with the commit.
   */
  serve(request: Envelope<'write'>): Promise<WriteReply | typeof ANSWERED> {
    return this.#enqueue(request.body.op, request.from, request);
  }

  #enqueue(op: WriteOp, from: string, request: Envelope<'write'> | undefined): Promise<WriteReply | typeof ANSWERED> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, from, request, resolve, reject });
      this.#schedule();
    });
  }

  /** A leader that stops chooses the next one and tells it, and its neighbours, before it goes. */
  async handOver(): Promise<void> {
    const { state, wire, self, lease } = this.#d;
    const r = state.rumor;
    if (!state.isLeader() || r.nodes.length < 2) return;
    let next = chooseLeader(r.nodes, self, state.down, self);
    while (next !== self && !(await wire.listening(next))) {
      state.down.add(next);
      next = chooseLeader(r.nodes, self, state.down, self);
    }
    if (next === self) return;
    if (lease && !lease.holds(r.cluster) && !(await lease.acquire(r.cluster, 0))) return;
    this.#d.o.logger.info(`simple-gossip: ${self} hands leadership over to ${next}`);
    await this.#commit(R.change(r, self, Date.now(), { leader: next }), undefined, [next]);
    await lease?.release();
  }

  /** This node no longer leads its cluster: let the next leader have the lease at once. */
  resign(): void {
    this.#d.lease?.release().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    // One batch per turn of the mailbox, so pushes and anti-entropy are not starved under load.
    void this.#d.mailbox.run(async () => {
      const batch = this.#queue.splice(0);
      try {
        await this.#serve(batch);
      } catch (err) {
        for (const w of batch) w.reject(err);
      } finally {
        this.#scheduled = false;
        this.#schedule();
      }
    });
  }

  async #serve(batch: Waiting[]): Promise<void> {
    // A member of the cluster this node left still writes here: show it where its cluster is now.
    const { former } = this.#d.state;
    const strays = former ? batch.filter((w) => this.#d.state.formerMember(w.from)) : [];
    for (const w of strays) w.resolve({ status: 'redirect', leader: former!.leader, rumor: former! });
    if (strays.length > 0) batch = batch.filter((w) => !strays.includes(w));
    if (batch.length === 0) return;
    const elsewhere = await this.#ensureLeadership();
    if (elsewhere) {
      for (const w of batch) w.resolve(elsewhere);
      return;
    }
    const { state } = this.#d;
    let draft = state.rumor;
    let done: Array<[Waiting, 'ok' | 'conflict']> = [];
    const flush = async (): Promise<boolean> => {
      const answered = done;
      done = [];
      if (draft !== state.rumor && !(await this.#commit(draft, answered.length === 1 ? answered[0]![0].from : undefined, [], answered))) {
        const reply = this.#elsewhere();
        for (const [w] of answered) w.resolve(reply);
        return false;
      }
      for (const [w, status] of answered) w.resolve(w.answered ? ANSWERED : { status, rumor: state.rumor });
      draft = state.rumor;
      return true;
    };
    for (const [i, w] of batch.entries()) {
      try {
        if (w.op.kind === 'join' || w.op.kind === 'leave') {
          if (!(await flush())) {
            for (const rest of batch.slice(i)) rest.resolve(this.#elsewhere());
            return;
          }
          if (w.op.kind === 'join') await this.#admit(w.op.id);
          else await this.#remove(w.op.id);
          // A leader that removed itself answers with the cluster's rumor, not its new solo one.
          w.resolve({ status: 'ok', rumor: w.op.kind === 'leave' && w.op.id === this.#d.self && state.former ? state.former : state.rumor });
          draft = state.rumor;
          continue;
        }
        const { next, status } = this.#applyData(draft, w.op, w.from);
        draft = next;
        done.push([w, status]);
      } catch (err) {
        w.reject(err);
      }
    }
    await flush();
  }

  /** Applies a data or settings write to the draft; each one is its own version. */
  #applyData(draft: Rumor<T>, op: WriteOp, from: string): { next: Rumor<T>; status: 'ok' | 'conflict' } {
    const { self } = this.#d;
    const now = Date.now();
    switch (op.kind) {
      case 'set':
        return { next: R.change(draft, self, now, { data: this.#own(op.data, from) }), status: 'ok' };
      case 'cas':
        if (op.base !== draft.version) return { next: draft, status: 'conflict' };
        return { next: R.change(draft, self, now, { data: this.#own(op.data, from) }), status: 'ok' };
      case 'check':
        return { next: draft, status: op.base === draft.version ? 'ok' : 'conflict' };
      case 'cfg': {
        const update = op.remove ? deleteCfgUpdater<T>(op.key) : setCfgUpdater<T>(op.key, op.value);
        const result = update(draft.data);
        if (result === 'no_change') return { next: draft, status: 'ok' };
        return { next: R.change(draft, self, now, { data: this.#own(result.change, from) }), status: 'ok' };
      }
      case 'settings':
        return {
          next: R.change(draft, self, now, {
            fanout: op.fanout ?? draft.fanout,
            gossipIntervalMs: op.gossipIntervalMs ?? draft.gossipIntervalMs,
          }),
          status: 'ok',
        };
      default:
        throw new TypeError(`not a data write: ${op.kind}`);
    }
  }

  /**
   * Makes sure this node may take writes: it leads and holds the lease, or it
   * takes over from a leader that is gone. Otherwise, where to go instead.
   */
  async #ensureLeadership(): Promise<WriteReply | undefined> {
    const { state, self, lease } = this.#d;
    if (!state.isLeader()) {
      const leader = state.rumor.leader;
      if (await this.#answers(leader)) {
        state.down.delete(leader);
        return { status: 'redirect', leader, rumor: state.rumor };
      }
      state.down.add(leader);
      const next = chooseLeader(state.rumor.nodes, leader, state.down, self);
      if (next !== self) return { status: 'redirect', leader: next, rumor: state.rumor };
      if (!(await this.#takeOver(leader))) return this.#elsewhere();
      return undefined;
    }
    if (lease && !lease.holds(state.rumor.cluster) && !(await lease.acquire(state.rumor.cluster, this.#leaseWait))) {
      return this.#elsewhere();
    }
    return undefined;
  }

  /** Where to send writes when this node may not commit: whoever holds the lease, else the next choice. */
  #elsewhere(): WriteReply {
    const { state, self, lease } = this.#d;
    const holder = lease?.holder;
    const leader = holder !== undefined && holder !== self && state.rumor.nodes.includes(holder)
      ? holder
      : chooseLeader(state.rumor.nodes, self, state.down, self);
    this.#d.metrics.count('writesRefused');
    this.#d.o.logger.warn(`simple-gossip: ${self} may not commit (its lease is gone); sending writes to ${leader}`);
    return { status: 'redirect', leader, rumor: state.rumor };
  }

  get #leaseWait(): number {
    return this.#d.o.leaseMs + 200;
  }

  /**
   * Whether `id` is there and answering: a listener on its channel is not
   * enough (a frozen process keeps its subscription), so it must also answer
   * a version request within half the RPC timeout.
   */
  async #answers(id: string): Promise<boolean> {
    const { wire, o } = this.#d;
    if (!(await wire.listening(id))) return false;
    try {
      await wire.request(id, 'vsn', {}, Math.max(50, o.rpcTimeoutMs / 2));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Takes over from a dead leader. First the lease (after which the old
   * leader can commit nothing more), then everything it may have committed:
   * its snapshot, and the newest rumor among the live members — so a write it
   * acknowledged but pushed to only some of them, or to none, is kept.
   */
  async #takeOver(dead: string): Promise<boolean> {
    const { state, wire, self, lease, redis, keys, o } = this.#d;
    if (lease && !(await lease.acquire(state.rumor.cluster, this.#leaseWait))) return false;
    const peers = state.rumor.nodes.filter((n) => n !== self && n !== dead && !state.down.has(n));
    const timeout = Math.min(o.rpcTimeoutMs / 2, 1_500);
    const [stored, ...answers] = await Promise.allSettled([
      readSnapshot<T>(redis, keys.snapshot(dead)),
      ...peers.map((p) => wire.request(p, 'pull', {}, timeout)),
    ]);
    if (stored?.status === 'fulfilled' && stored.value) state.consider(stored.value, dead);
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled' && isRumor(a.value)) state.consider(a.value as Rumor<T>, peers[i]!);
    });
    const leader = state.rumor.leader;
    if (leader !== self && leader !== dead && !state.down.has(leader)) return false;
    o.logger.info(`simple-gossip: ${self} takes over as leader from ${dead}`);
    return this.#commit(R.change(state.rumor, self, Date.now(), { leader: self }));
  }

  /**
   * A leader's commit. With fencing: one script that checks the lease, writes
   * the snapshot and publishes the push and the answers to the writers in
   * `replies` (each then marked answered). Then the change is installed here.
   */
  async #commit(next: Rumor<T>, from?: string, extra: readonly string[] = [], replies: ReadonlyArray<readonly [Waiting, 'ok' | 'conflict']> = []): Promise<boolean> {
    const { state, snapshot, lease, metrics, o, self, wire } = this.#d;
    if (!lease) {
      state.commit(next, from, extra);
      metrics.count('leaderCommits');
      return true;
    }
    // The push goes in the script too, unless pushes are being paced (then it follows, with the newest change).
    const star = lease.publishes && state.pushes.mayStar(next);
    const targets = star ? state.pushes.targets(next, from, extra) : [];
    const remote = lease.publishes ? replies.filter(([w]) => w.request !== undefined) : [];
    const posts = [
      ...(targets.length > 0 ? [wire.pushPost(next, targets, undefined, true)] : []),
      ...remote.map(([w, status]) => wire.replyPost(w.request!, { status, rumor: next })),
    ];
    const listeners = await snapshot.guarded(next, (key, text) => lease.commit(next.cluster, key, text, posts));
    if (!listeners) {
      metrics.count('fencedCommits');
      o.logger.warn(`simple-gossip: ${self} lost its lease; it commits nothing more as leader`);
      return false;
    }
    wire.published(posts);
    for (const [w] of remote) w.answered = true;
    const pushed = star ? { targets, listeners: listeners.slice(0, targets.length) } : undefined;
    state.commit(next, from, extra, { persisted: true, ...(pushed ? { pushed } : {}) });
    metrics.count('leaderCommits');
    return true;
  }

  /** A value that came from this process is copied first, so freezing it never touches the caller's object. */
  #own(data: unknown, from: string): T | undefined {
    return (from === this.#d.self ? roundTrip(data) : data) as T | undefined;
  }

  /** Adds `id`: it must be listening; the side with the higher version keeps its data. */
  async #admit(id: string): Promise<void> {
    const { state, wire, self, o } = this.#d;
    if (id === self || state.rumor.nodes.includes(id)) return;
    if (!(await wire.listening(id))) throw new CouldNotConnectError(id);
    const proposed = R.addNode(state.rumor, id, self, Date.now());
    let answer: unknown;
    try {
      answer = await wire.request(id, 'join', { rumor: proposed }, o.rpcTimeoutMs);
    } catch (err) {
      throw new CouldNotConnectError(id, { cause: err });
    }
    const upgrade = (answer as { rumor?: unknown } | null)?.rumor;
    o.logger.info(`simple-gossip: ${self} admits ${id}${isRumor(upgrade) ? ', whose own cluster was newer' : ''}`);
    // The joined side's rumor won: it is not ours to commit, we adopt it.
    if (isRumor(upgrade)) state.commit(upgrade as Rumor<T>, id);
    else await this.#commit(proposed, id, [id]);
  }

  /**
   * Removes `id` and tells every remaining member and `id` itself (a leave is
   * rare: telling everyone beats a tree whose branches may be down). When the
   * leader goes, the next one is chosen among the nodes that listen.
   */
  async #remove(id: string): Promise<void> {
    const { state, self, wire } = this.#d;
    const before = state.rumor;
    if (!before.nodes.includes(id)) return;
    if (id === before.leader) {
      const rest = before.nodes.filter((n) => n !== id);
      let next = chooseLeader(rest, id, state.down, rest[0] ?? self);
      while (rest.length > 0 && !state.down.has(next) && next !== self && !(await wire.listening(next))) {
        state.down.add(next);
        next = chooseLeader(rest, id, state.down, rest[0] ?? self);
      }
    }
    const after = R.removeNode(before, id, self, Date.now(), state.down);
    this.#d.o.logger.info(`simple-gossip: ${self} removes ${id}${id === before.leader ? `; ${after.leader} leads next` : ''}`);
    const extra = [...before.nodes].filter((n) => n !== self);
    if (!(await this.#commit(after, undefined, extra))) return;
    if (id !== self) return;
    state.former = after;
    state.commit(R.restartAlone(after, self, Date.now()));
  }
}
