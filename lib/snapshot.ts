import superjson from 'superjson';
import type { Redis } from 'ioredis';
import { isRumor, serialize } from './codec.js';
import { PersistenceError } from './errors.js';
import type { Rumor } from './model/rumor.js';

/**
 * A node's latest rumor in Redis. Writes are coalesced: one in flight at a
 * time, and only the newest of those that arrive meanwhile goes next.
 */
export class SnapshotStore<T> {
  #pending: Rumor<T> | undefined;
  #inFlight: Promise<void> | undefined;
  #writes = 0;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly onError: (err: Error) => void,
  ) {}

  async read(): Promise<Rumor<T> | undefined> {
    const text = await this.redis.get(this.key);
    if (text === null) return undefined;
    try {
      const rumor = superjson.parse<unknown>(text);
      if (isRumor(rumor)) return rumor as Rumor<T>;
    } catch {
      // reported below
    }
    this.onError(new PersistenceError(`the snapshot at ${this.key} is not a valid rumor; starting without it`));
    return undefined;
  }

  save(rumor: Rumor<T>): void {
    this.#pending = rumor;
    this.#inFlight ??= this.#writeLoop();
  }

  /** Resolves once every save so far is in Redis (or has failed). */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** Snapshot writes sent to Redis so far. */
  get writes(): number {
    return this.#writes;
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#pending) {
        const rumor = this.#pending;
        this.#pending = undefined;
        try {
          this.#writes++;
          await this.redis.set(this.key, serialize(rumor));
        } catch (err) {
          this.onError(new PersistenceError(`writing the snapshot of version ${rumor.version} failed`, { cause: err }));
        }
      }
    } finally {
      this.#inFlight = undefined;
    }
  }
}
