/**
 * The node's one queue: every inbound message and API command that changes
 * state runs here, one at a time, so each state change is atomic — the
 * stand-in for the Erlang gen_server's mailbox. A task must never wait on
 * another task of the same mailbox.
 */
export class Mailbox {
  #tail: Promise<unknown> = Promise.resolve();
  #depth = 0;

  run<R>(task: () => R | Promise<R>): Promise<R> {
    this.#depth++;
    const result = this.#tail.then(task).finally(() => {
      this.#depth--;
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Tasks queued or running. */
  get depth(): number {
    return this.#depth;
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
