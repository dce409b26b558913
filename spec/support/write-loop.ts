/**
 * A writer that keeps writing until stopped and keeps a ledger: every write
 * that was acknowledged (its call resolved), with when it was sent and when
 * the answer came, and every write that failed, with its error code. Fault
 * tests compare the ledger with the cluster's final state.
 */
import { performance } from 'node:perf_hooks';
import { eventually } from './cluster.js';

export interface Acked<A> {
  /** The write's number in this loop, from 1. */
  readonly seq: number;
  readonly sentAt: number;
  readonly ackedAt: number;
  /** What the write call resolved to. */
  readonly answer: A;
}

export interface Failed {
  readonly seq: number;
  readonly sentAt: number;
  readonly failedAt: number;
  readonly code: string;
}

export interface WriteLoopOptions {
  /** Pause between two writes. @default 0 */
  readonly pauseMs?: number;
}

/** Milliseconds on a monotonic clock, the one the ledger uses. */
export function now(): number {
  return performance.now();
}

export class WriteLoop<A = unknown> {
  readonly acked: Acked<A>[] = [];
  readonly failed: Failed[] = [];
  #seq = 0;
  #stopped = false;
  readonly #done: Promise<void>;

  private constructor(
    private readonly write: (seq: number) => Promise<A>,
    private readonly options: WriteLoopOptions,
  ) {
    this.#done = this.#run();
  }

  /** Starts writing `write(1)`, `write(2)`, … one at a time. */
  static start<A>(write: (seq: number) => Promise<A>, options: WriteLoopOptions = {}): WriteLoop<A> {
    return new WriteLoop(write, options);
  }

  /** How many writes were sent so far. */
  get sent(): number {
    return this.#seq;
  }

  /** Writes sent and not answered yet (0 or 1). */
  get inFlight(): number {
    return this.#seq - this.acked.length - this.failed.length;
  }

  /** The last acknowledged write, if any. */
  get lastAcked(): Acked<A> | undefined {
    return this.acked.at(-1);
  }

  /** Acknowledged writes that were sent after `t` (a {@link now} time). */
  ackedSince(t: number): Acked<A>[] {
    return this.acked.filter((a) => a.sentAt > t);
  }

  /** Waits until `count` writes sent after `since` are acknowledged. */
  async waitForAcks(count: number, timeoutMs: number, since = -Infinity): Promise<void> {
    await eventually(() => this.acked.filter((a) => a.sentAt > since).length >= count, timeoutMs, `${count} acknowledged writes`);
  }

  /** Stops after the write in flight (which still counts). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }

  /** Failure codes and how often each came. */
  failureCodes(): Record<string, number> {
    const codes: Record<string, number> = {};
    for (const f of this.failed) codes[f.code] = (codes[f.code] ?? 0) + 1;
    return codes;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const seq = ++this.#seq;
      const sentAt = now();
      try {
        const answer = await this.write(seq);
        this.acked.push({ seq, sentAt, ackedAt: now(), answer });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        this.failed.push({ seq, sentAt, failedAt: now(), code: typeof code === 'string' ? code : 'error' });
      }
      const pause = this.options.pauseMs ?? 0;
      await new Promise((r) => (pause > 0 ? setTimeout(r, pause) : setImmediate(r)));
    }
  }
}
