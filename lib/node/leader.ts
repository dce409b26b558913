import { isRumor, roundTrip } from '../codec.js';
import type { WriteOp } from '../codec.js';
import { CouldNotConnectError } from '../errors.js';
import { chooseLeader } from '../model/leader.js';
import * as R from '../model/rumor.js';
import type { Rumor } from '../model/rumor.js';
import type { ResolvedOptions } from '../options.js';
import type { Wire } from '../transport/wire.js';
import type { NodeState } from './state.js';

/** The answer a node gives to a write. */
export type WriteReply =
  | { readonly status: 'ok'; readonly rumor: Rumor }
  | { readonly status: 'conflict'; readonly rumor: Rumor }
  | { readonly status: 'redirect'; readonly leader: string; readonly rumor: Rumor };

/**
 * The leader's duties: applying writes one at a time, taking over from a dead
 * leader (after pulling the newest rumor among the live members), adding and
 * removing members, and handing leadership over on a graceful stop. Every
 * method runs inside the node's mailbox.
 */
export class LeaderRole<T> {
  constructor(
    private readonly self: string,
    private readonly state: NodeState<T>,
    private readonly wire: Wire,
    private readonly o: ResolvedOptions,
  ) {}

  /** Serves a write: as the leader, by taking over from a dead one, or by redirecting. */
  async serve(op: WriteOp, from: string): Promise<WriteReply> {
    const { state } = this;
    if (!state.isLeader()) {
      const leader = state.rumor.leader;
      if (await this.#answers(leader)) {
        state.down.delete(leader);
        return { status: 'redirect', leader, rumor: state.rumor };
      }
      state.down.add(leader);
      const next = chooseLeader(state.rumor.nodes, leader, state.down, this.self);
      if (next !== this.self) return { status: 'redirect', leader: next, rumor: state.rumor };
      await this.#takeOver(leader);
      if (!state.isLeader()) return { status: 'redirect', leader: state.rumor.leader, rumor: state.rumor };
    }
    return this.#apply(op, from);
  }

  /** A leader that stops chooses the next one and tells it, and its neighbours, before it goes. */
  async handOver(): Promise<void> {
    const { state } = this;
    const r = state.rumor;
    if (!state.isLeader() || r.nodes.length < 2) return;
    let next = chooseLeader(r.nodes, this.self, state.down, this.self);
    while (next !== this.self && !(await this.wire.listening(next))) {
      state.down.add(next);
      next = chooseLeader(r.nodes, this.self, state.down, this.self);
    }
    if (next === this.self) return;
    state.commit(R.change(r, this.self, Date.now(), { leader: next }), undefined, [next]);
  }

  /**
   * Whether `id` is there and answering: a listener on its channel is not
   * enough (a frozen process keeps its subscription), so it must also answer
   * a version request within half the RPC timeout.
   */
  async #answers(id: string): Promise<boolean> {
    if (!(await this.wire.listening(id))) return false;
    try {
      await this.wire.request(id, 'vsn', {}, Math.max(50, this.o.rpcTimeoutMs / 2));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Before taking writes, a new leader pulls the newest rumor among the live
   * members, so a write the dead leader pushed to only some of them is kept
   * and the cluster cannot split on it.
   */
  async #takeOver(dead: string): Promise<void> {
    const { state } = this;
    const peers = state.rumor.nodes.filter((n) => n !== this.self && n !== dead && !state.down.has(n));
    const timeout = Math.min(this.o.rpcTimeoutMs / 2, 1_500);
    const answers = await Promise.allSettled(peers.map((p) => this.wire.request(p, 'pull', {}, timeout)));
    answers.forEach((a, i) => {
      if (a.status === 'fulfilled' && isRumor(a.value)) state.consider(a.value as Rumor<T>, peers[i]!);
    });
    const leader = state.rumor.leader;
    if (leader !== this.self && leader !== dead && !state.down.has(leader)) return;
    this.o.logger.info(`simple-gossip: ${this.self} takes over as leader from ${dead}`);
    state.commit(R.change(state.rumor, this.self, Date.now(), { leader: this.self }));
  }

  async #apply(op: WriteOp, from: string): Promise<WriteReply> {
    const { state } = this;
    const r = state.rumor;
    const now = Date.now();
    switch (op.kind) {
      case 'set':
        state.commit(R.change(r, this.self, now, { data: this.#own(op.data, from) }), from);
        break;
      case 'cas':
        if (op.base !== r.version) return { status: 'conflict', rumor: r };
        state.commit(R.change(r, this.self, now, { data: this.#own(op.data, from) }), from);
        break;
      case 'check':
        if (op.base !== r.version) return { status: 'conflict', rumor: r };
        break;
      case 'settings':
        state.commit(R.change(r, this.self, now, {
          fanout: op.fanout ?? r.fanout,
          gossipIntervalMs: op.gossipIntervalMs ?? r.gossipIntervalMs,
        }), from);
        break;
      case 'join':
        await this.#admit(op.id);
        break;
      case 'leave':
        this.#remove(op.id);
        break;
    }
    return { status: 'ok', rumor: state.rumor };
  }

  /** A value that came from this process is copied first, so freezing it never touches the caller's object. */
  #own(data: unknown, from: string): T | undefined {
    return (from === this.self ? roundTrip(data) : data) as T | undefined;
  }

  /** Adds `id`: it must be listening; the side with the higher version keeps its data. */
  async #admit(id: string): Promise<void> {
    const { state } = this;
    if (id === this.self || state.rumor.nodes.includes(id)) return;
    if (!(await this.wire.listening(id))) throw new CouldNotConnectError(id);
    const proposed = R.addNode(state.rumor, id, this.self, Date.now());
    let answer: unknown;
    try {
      answer = await this.wire.request(id, 'join', { rumor: proposed }, this.o.rpcTimeoutMs);
    } catch (err) {
      throw new CouldNotConnectError(id, { cause: err });
    }
    const upgrade = (answer as { rumor?: unknown } | null)?.rumor;
    if (isRumor(upgrade)) state.commit(upgrade as Rumor<T>, id);
    else state.commit(proposed, id, [id]);
  }

  /** Removes `id` and tells the old neighbours and `id` itself. */
  #remove(id: string): void {
    const { state } = this;
    const before = state.rumor;
    if (!before.nodes.includes(id)) return;
    const after = R.removeNode(before, id, this.self, Date.now(), state.down);
    const extra = [...state.neighbours(before), id, after.leader].filter((n) => n !== this.self);
    state.commit(after, undefined, extra);
    if (id === this.self) state.commit(R.restartAlone(after, this.self, Date.now()));
  }
}
