import { assertSerializable, isRumor, serialize } from '../codec.js';
import type { WriteOp } from '../codec.js';
import { MAX_ROUTE_ATTEMPTS, MAX_UPDATE_RETRIES } from '../constants.js';
import { ConflictError, MessageTooLargeError, NoLeaderError, NoListenerError, RequestTimeoutError } from '../errors.js';
import type { GossipError } from '../errors.js';
import type { Mailbox } from '../mailbox.js';
import { chooseLeader } from '../model/leader.js';
import type { Rumor } from '../model/rumor.js';
import type { ResolvedOptions } from '../options.js';
import type { Wire } from '../transport/wire.js';
import { applyUpdaters, UpdateQueue } from '../updates.js';
import type { PendingUpdate, Updater } from '../updates.js';
import type { LeaderRole, WriteReply } from './leader.js';
import type { NodeState } from './state.js';

/**
 * The caller's side of a write: values and updater batches go to whoever
 * leads, following redirects; a leader nobody listens for, or that does not
 * answer, is marked down and the next one chosen — which may be this node.
 * The reply's rumor is adopted before the call resolves (read-your-writes).
 */
export class WriteRouter<T> {
  readonly #updates = new UpdateQueue<T>((batch) => this.#runBatch(batch));

  constructor(
    private readonly self: string,
    private readonly state: NodeState<T>,
    private readonly leader: LeaderRole<T>,
    private readonly wire: Wire,
    private readonly mailbox: Mailbox,
    private readonly o: ResolvedOptions,
    private readonly assertRunning: () => void,
  ) {}

  /** Writes a value or runs an updater; resolves to a version that holds the write. */
  async set(valueOrUpdater: T | undefined | Updater<T>): Promise<number> {
    if (typeof valueOrUpdater === 'function') {
      await this.#updates.add(valueOrUpdater as Updater<T>);
      return this.state.rumor.version;
    }
    return this.write({ kind: 'set', data: valueOrUpdater });
  }

  /** Sends a write the leader applies by itself (a value, a config key); resolves to a version that holds it. */
  async write(op: Extract<WriteOp, { kind: 'set' | 'cfg' }>): Promise<number> {
    this.#checkEncodable(op.kind === 'set' ? op.data : op.value);
    const reply = await this.route(op);
    return reply.rumor.version;
  }

  /** Rejects every updater still waiting. */
  close(err: Error): void {
    this.#updates.rejectAll(err);
  }

  /** Sends `op` to the leader (or first to `via`, a node of another cluster that should take it). */
  async route(op: WriteOp, via?: string): Promise<Exclude<WriteReply, { status: 'redirect' }>> {
    const { state } = this;
    let target = via ?? state.rumor.leader;
    let lastError: unknown;
    for (let attempt = 0; attempt < MAX_ROUTE_ATTEMPTS; attempt++) {
      this.assertRunning();
      if (state.down.has(target)) target = chooseLeader(state.rumor.nodes, target, state.down, this.self);
      let reply: WriteReply;
      if (target === this.self) {
        reply = await this.leader.submit(op);
      } else {
        // A node that is not the leader yet may first have to wait out the old leader's lease.
        const timeout = target === state.rumor.leader ? this.o.rpcTimeoutMs : this.o.rpcTimeoutMs + this.o.leaseMs;
        try {
          reply = (await this.wire.request(target, 'write', { op }, timeout)) as WriteReply;
        } catch (err) {
          if (!(err instanceof NoListenerError || err instanceof RequestTimeoutError)) throw err;
          this.o.logger.debug(`simple-gossip: leader ${target} is unreachable (${(err as GossipError).code})`);
          state.down.add(target);
          lastError = err;
          target = state.rumor.leader;
          continue;
        }
        const from = target;
        // Where the leader's changes go out as a star, every member but this one had it from the leader: pass nothing on.
        if (isRumor(reply.rumor)) await this.mailbox.run(() => state.consider(reply.rumor as Rumor<T>, from, undefined, state.pushes.fansOut));
      }
      if (reply.status !== 'redirect') return reply;
      target = reply.leader;
      if (attempt > 1) await sleep(Math.random() * 5 * attempt);
    }
    throw new NoLeaderError(`no leader took the write after ${MAX_ROUTE_ATTEMPTS} attempts`, { cause: lastError });
  }

  /**
   * One batch of updaters: applied in order to the latest data here, then sent
   * to the leader as a compare-and-set on the version they were computed
   * from; run again (with jitter) while the leader has moved on.
   */
  async #runBatch(batch: PendingUpdate<T>[]): Promise<void> {
    for (let attempt = 0; attempt < MAX_UPDATE_RETRIES; attempt++) {
      const base = this.state.rumor;
      const result = applyUpdaters(batch, base.data);
      if (batch.length === 0) return;
      if (result.changed) this.#checkEncodable(result.data);
      const op: WriteOp = result.changed
        ? { kind: 'cas', data: result.data, base: base.version }
        : { kind: 'check', base: base.version };
      const reply = await this.route(op);
      if (reply.status === 'ok') return;
      // The reply brought the newest rumor: retry at once, so a busy leader cannot starve us;
      // back off with jitter only when that keeps failing (other nodes' updaters compete).
      if (attempt >= 3) await sleep(Math.random() * (attempt - 2));
    }
    throw new ConflictError(MAX_UPDATE_RETRIES);
  }

  #checkEncodable(value: unknown): void {
    assertSerializable(value);
    const bytes = Buffer.byteLength(serialize(value));
    if (bytes > this.o.maxMessageBytes) throw new MessageTooLargeError(bytes, this.o.maxMessageBytes);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
