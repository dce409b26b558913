import type { Head } from '../model/state.js';

/** How many members' acks are kept (the oldest forgotten first): more than any cluster has. */
const KEPT = 10_000;

interface Waiter {
  readonly node: string;
  readonly cluster: string;
  readonly atLeast: number;
  readonly done: (version: number | undefined) => void;
}

/**
 * What members told this node they hold, unasked: a change committed while a
 * `…Sync` call of this node waits carries `ack` in its meta, and each member
 * that holds it sends its head back as it applies it (one message, in the
 * same wake-up as the change). The latest head acked per member, and the
 * waits for one; a member whose ack does not come is asked with a `vsn`
 * request instead. An ack can arrive before the commit's own answer: it is
 * kept until a wait asks for it.
 */
export class Acks {
  readonly #held = new Map<string, Head>();
  readonly #waiters = new Set<Waiter>();

  record(from: string, head: Head): void {
    const had = this.#held.get(from);
    if (had && had.cluster === head.cluster && had.version >= head.version) return;
    // Insertion order is age order: a member acking again moves to the end.
    this.#held.delete(from);
    this.#held.set(from, head);
    if (this.#held.size > KEPT) this.#held.delete(this.#held.keys().next().value!);
    for (const w of this.#waiters) if (w.node === from && holds(head, w)) w.done(head.version);
  }

  /** `node`'s acked version once it is at least `atLeast` in `cluster`, or undefined after `waitMs` without one. */
  wait(node: string, cluster: string, atLeast: number, waitMs: number): Promise<number | undefined> {
    const had = this.#held.get(node);
    if (had && holds(had, { cluster, atLeast })) return Promise.resolve(had.version);
    if (waitMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        node,
        cluster,
        atLeast,
        done: (version) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(version);
        },
      };
      const timer = setTimeout(() => waiter.done(undefined), waitMs);
      timer.unref();
      this.#waiters.add(waiter);
    });
  }

  /** Lets every wait go without an ack. */
  close(): void {
    for (const w of this.#waiters) w.done(undefined);
  }
}

const holds = (head: Head, w: { readonly cluster: string; readonly atLeast: number }): boolean => head.cluster === w.cluster && head.version >= w.atLeast;
