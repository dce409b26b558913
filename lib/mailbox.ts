/**
 * The node's one queue: every inbound message and API command that changes
 * state runs here, one at a time, so each state change is atomic — the
 * stand-in for the Erlang gen_server's mailbox. A task must never wait on
 * another task of the same mailbox.
 */
export class Mailbox {
  #tail: Promise<unknown> = Promise.resolve();

  run<R>(task: () => R | Promise<R>): Promise<R> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
