/**
 * Redis's clock, as this node estimates it: every timestamp the protocol
 * compares (commit times, the replay window) is Redis's, so a node whose own
 * clock is minutes off still joins, writes and is answered.
 */
export class RedisClock {
  #offset = 0;

  /** Now, in ms, by Redis's clock. */
  now(): number {
    return Date.now() + this.#offset;
  }

  /** Takes Redis's time `redisMs`, read in a round trip that began at `sentAt` (local ms). */
  observe(redisMs: number, sentAt: number, receivedAt = Date.now()): void {
    this.#offset = redisMs - (sentAt + receivedAt) / 2;
  }

  /** How far this node's clock is from Redis's (ms; positive: Redis is ahead). */
  get offset(): number {
    return this.#offset;
  }
}
