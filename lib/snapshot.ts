import { deserialize, isRumor, serialize } from './codec.js';
import { PersistenceError } from './errors.js';
import type { Rumor } from './model/rumor.js';
import type { Commands } from './transport/connection.js';

/** Reads a node's snapshot; undefined when there is none, or it is not a valid rumor. */
export async function readSnapshot<T>(redis: Commands, key: string): Promise<Rumor<T> | undefined> {
  const text = await redis.get(key);
  if (text === null) return undefined;
  try {
    const rumor = deserialize<unknown>(text);
    if (isRumor(rumor)) return rumor as Rumor<T>;
  } catch {
    // not a rumor
  }
  throw new PersistenceError(`the snapshot at ${key} is not a valid rumor`);
}

/**
 * A node's latest rumor in Redis. Writes go one at a time, in order. Plain
 * saves are coalesced: while one waits, a newer one replaces it; a save
 * `later` (a member's copy) is queued after whatever this turn of the event
 * loop already scheduled (the change's events). A guarded write (the
 * leader's commit, checked against its lease) waits its turn and cancels any
 * older plain save still waiting.
 */
export class SnapshotStore<T> {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting: { rumor: Rumor<T>; cancelled: boolean; queued: boolean } | undefined;
  #writes = 0;

  constructor(
    private readonly redis: Commands,
    readonly key: string,
    private readonly onError: (err: Error) => void,
  ) {}

  async read(): Promise<Rumor<T> | undefined> {
    try {
      return await readSnapshot<T>(this.redis, this.key);
    } catch (err) {
      if (!(err instanceof PersistenceError)) throw err;
      this.onError(new PersistenceError(`${err.message}; starting without it`));
      return undefined;
    }
  }

  save(rumor: Rumor<T>, later = false): void {
    if (this.#waiting) {
      this.#waiting.rumor = rumor;
      if (!later) this.#queue();
      return;
    }
    this.#waiting = { rumor, cancelled: false, queued: false };
    if (later) setImmediate(() => this.#queue());
    else this.#queue();
  }

  /** Queues the waiting save's write (once). */
  #queue(): void {
    const slot = this.#waiting;
    if (!slot || slot.queued) return;
    slot.queued = true;
    void this.#enqueue(async () => {
      if (this.#waiting === slot) this.#waiting = undefined;
      if (slot.cancelled) return;
      try {
        this.#writes++;
        await this.redis.set(this.key, serialize(slot.rumor));
      } catch (err) {
        this.onError(new PersistenceError(`writing the snapshot of version ${slot.rumor.version} failed`, { cause: err }));
      }
    });
  }

  /** Writes `rumor` through `write` (which may refuse) after the writes before it; resolves to its answer. */
  guarded<R>(rumor: Rumor<T>, write: (key: string, text: string) => Promise<R>): Promise<R> {
    if (this.#waiting) {
      this.#waiting.cancelled = true;
      this.#waiting = undefined;
    }
    const text = serialize(rumor);
    return this.#enqueue(() => {
      this.#writes++;
      return write(this.key, text);
    });
  }

  /** Resolves once every write so far is done (or has failed). */
  async flush(): Promise<void> {
    this.#queue();
    let tail;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }

  /** Snapshot writes sent to Redis so far. */
  get writes(): number {
    return this.#writes;
  }

  #enqueue<R>(task: () => Promise<R>): Promise<R> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
