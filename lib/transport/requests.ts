import { randomBytes } from 'node:crypto';
import { RequestTimeoutError, StoppedError } from '../errors.js';

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Request/response over pub/sub, written once: a correlation id per request,
 * a timeout, and every pending request rejected on close. Replies are matched
 * here, outside the node's mailbox, so a handler that awaits one cannot
 * deadlock on its own queue.
 */
export class Requests {
  readonly #pending = new Map<string, Pending>();
  readonly #prefix = randomBytes(6).toString('base64url');
  #seq = 0;
  #closed = false;

  /**
   * Sends through `send` (which returns how many listeners got it) and waits
   * for the answer. `send` may reject at once, e.g. when nobody listens.
   */
  request(target: string, type: string, timeoutMs: number, send: (cid: string) => Promise<void>): Promise<unknown> {
    if (this.#closed) return Promise.reject(new StoppedError());
    const cid = `${this.#prefix}.${(this.#seq++).toString(36)}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(cid);
        reject(new RequestTimeoutError(target, type, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(cid, { resolve, reject, timer });
      send(cid).catch((err: Error) => this.#settle(cid, (p) => p.reject(err)));
    });
  }

  resolve(cid: string, value: unknown): boolean {
    return this.#settle(cid, (p) => p.resolve(value));
  }

  reject(cid: string, err: Error): boolean {
    return this.#settle(cid, (p) => p.reject(err));
  }

  get size(): number {
    return this.#pending.size;
  }

  close(err: Error = new StoppedError()): void {
    this.#closed = true;
    for (const cid of [...this.#pending.keys()]) this.reject(cid, err);
  }

  #settle(cid: string, how: (p: Pending) => void): boolean {
    const p = this.#pending.get(cid);
    if (!p) return false;
    this.#pending.delete(cid);
    clearTimeout(p.timer);
    how(p);
    return true;
  }
}
