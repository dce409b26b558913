/**
 * A state whose schema check is asynchronous waits for it before it is
 * installed, and so does every input that arrives meanwhile: they are
 * replayed, in order, once the check has settled, so the inbox still takes
 * one input at a time in the order they came.
 */
export class Hold<I> {
  /** The inputs waiting behind a check, or undefined when none is pending. */
  #waiting: I[] | undefined;

  /** Whether a check is pending: then `input` waits behind it. */
  queued(input: I): boolean {
    if (this.#waiting === undefined) return false;
    this.#waiting.push(input);
    return true;
  }

  /** Holds the inputs until `check` settles (a rejection counts as refused), calls `then`, then replays them through `step`. */
  until(check: Promise<boolean>, then: (ok: boolean) => void, step: (input: I) => void): void {
    this.#waiting = [];
    check
      .then(
        (ok) => ok,
        () => false,
      )
      .then((ok) => {
        const inputs = this.#waiting ?? [];
        this.#waiting = undefined;
        try {
          then(ok);
        } finally {
          // One that is held again queues the rest behind its own check, still in order.
          for (const input of inputs) step(input);
        }
      })
      // The inbox reports its own failures (a throwing subscriber is caught there); nothing may escape into the event loop.
      .catch(() => undefined);
  }
}
