/**
 * Drops replayed requests: a request id is accepted once, and only while its
 * sender's timestamp is within the window. Ids are forgotten once they are
 * old enough that the timestamp check alone rejects them.
 */
export class ReplayGuard {
  readonly #seen = new Map<string, number>();
  #lastSweep = 0;

  constructor(private readonly windowMs: number) {}

  accept(from: string, cid: string, ts: number, now = Date.now()): boolean {
    if (Math.abs(now - ts) > this.windowMs) return false;
    const key = `${from}\u0000${cid}`;
    if (this.#seen.has(key)) return false;
    this.#seen.set(key, now);
    if (now - this.#lastSweep > this.windowMs) this.#sweep(now);
    return true;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    // Entries are in insertion order, so the old ones come first.
    for (const [key, at] of this.#seen) {
      if (now - at <= 2 * this.windowMs) break;
      this.#seen.delete(key);
    }
  }
}
