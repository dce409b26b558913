/** What an updater returns: the next value, or that nothing changes. */
export type UpdateResult<T> =
  | {
      /** The next value. */
      readonly change: T;
    }
  | 'no_change';

/**
 * Computes the next value from the current one (frozen). The node's own
 * shape; the facade's, typed deep-readonly, is lib/types.ts's `Updater`. It may run more than
 * once (when the leader has moved on meanwhile), so it must be pure.
 */
export type Updater<T> = (current: T | undefined) => UpdateResult<T>;

export interface PendingUpdate<T> {
  readonly fn: Updater<T>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Updaters wait here and run in batches: every updater queued while one batch
 * is with the leader goes next, together, so many concurrent updaters from
 * one node cost one round trip instead of a storm of conflicts.
 */
export class UpdateQueue<T> {
  readonly #queue: PendingUpdate<T>[] = [];
  #draining = false;

  /** `run` applies a batch; it rejects the members that failed by themselves, and throws to fail the rest. */
  constructor(private readonly run: (batch: PendingUpdate<T>[]) => Promise<void>) {}

  add(fn: Updater<T>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ fn, resolve, reject });
      // #drain() settles every update it takes (resolve or reject) and cannot reject itself.
      if (!this.#draining) void this.#drain();
    });
  }

  rejectAll(err: unknown): void {
    for (const u of this.#queue.splice(0)) u.reject(err);
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0);
        try {
          await this.run(batch);
          for (const u of batch) u.resolve();
        } catch (err) {
          for (const u of batch) u.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}

/**
 * Applies a batch in order to `start`. An updater that throws (or returns
 * something else than a change or 'no_change', or a change `check` refuses)
 * is taken out of the batch and rejected with its error; the others go on
 * from the value before it.
 */
export async function applyUpdaters<T>(batch: PendingUpdate<T>[], start: T | undefined, check?: (data: unknown) => void | Promise<void>): Promise<{ data: T | undefined; changed: boolean }> {
  let data = start;
  let changed = false;
  for (const u of [...batch]) {
    try {
      const result = u.fn(data);
      if (result === 'no_change') continue;
      if (typeof result !== 'object' || result === null || !('change' in result)) {
        throw new TypeError(`an updater must return { change: value } or 'no_change', not ${String(result)}`);
      }
      const checking = check?.(result.change);
      if (checking) await checking;
      data = result.change;
      changed = true;
    } catch (err) {
      batch.splice(batch.indexOf(u), 1);
      u.reject(err);
    }
  }
  return { data, changed };
}
