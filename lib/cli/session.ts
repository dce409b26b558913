import { Redis } from 'ioredis';
import yoctoSpinner from 'yocto-spinner';
import type { Spinner } from 'yocto-spinner';
import { Observer } from '../index.js';
import { resolveOptions } from '../options.js';
import type { Rumor } from '../index.js';
import { CliError, EXIT, asCliError } from './exit.js';
import { redact } from './output.js';
import { secretsOf } from './options.js';
import type { GlobalOptions } from './options.js';

/**
 * One run of a command: an observer connected to the cluster's Redis (never
 * a member), and a spinner on stderr while it waits (only on a terminal, and
 * never with --json).
 */
export class Session {
  readonly #spinner: Spinner | undefined;
  #observer: Observer | undefined;
  #closing: Promise<void> | undefined;

  private constructor(readonly options: GlobalOptions) {
    this.#spinner = process.stderr.isTTY && !options.json ? yoctoSpinner({ stream: process.stderr }) : undefined;
  }

  /** Connects; fails with exit code 1 for a bad option, 2 with the reason Redis gave. */
  static async open(options: GlobalOptions): Promise<Session> {
    const observerOptions = {
      redis: options.redis,
      namespace: options.namespace,
      rpcTimeoutMs: options.timeout,
      statusTimeoutMs: options.timeout,
      secret: secretsOf(options),
    };
    try {
      // The same checks a node makes (a namespace with spaces, an empty secret), before any connection.
      resolveOptions({ ...observerOptions, nodeId: 'simple-gossip-cli' });
    } catch (err) {
      throw asCliError(err, EXIT.usage);
    }
    const session = new Session(options);
    try {
      session.progress(`connecting to ${redact(options.redis)}`);
      await probe(options.redis, options.timeout);
      // Redis answered the probe, so this is quick; should it hang, the process exits anyway (see main.ts).
      session.#observer = await withDeadline(
        Observer.connect(observerOptions),
        options.timeout,
        `no connection to ${redact(options.redis)} within ${options.timeout} ms`,
      );
      return session;
    } catch (err) {
      await session.close();
      if (err instanceof CliError) throw err;
      throw asCliError(err, EXIT.unreachable, `cannot reach Redis at ${redact(options.redis)}: `);
    }
  }

  get observer(): Observer {
    if (!this.#observer) throw new Error('the session is not connected');
    return this.#observer;
  }

  /** Shows what the command waits for (on a terminal). */
  progress(text: string): void {
    if (!this.#spinner) return;
    this.#spinner.text = text;
    if (!this.#spinner.isSpinning) this.#spinner.start();
  }

  /** Clears the spinner line, before printing a result. */
  done(): void {
    if (this.#spinner?.isSpinning) this.#spinner.stop();
  }

  /** The live members' ids; exit code 2 when there is none. */
  async live(): Promise<string[]> {
    this.progress(`looking for members of "${this.options.namespace}"`);
    const live = await this.observer.live();
    if (live.length === 0) {
      throw new CliError(EXIT.unreachable, `no live member in namespace "${this.options.namespace}" on ${redact(this.options.redis)}`);
    }
    return live;
  }

  /** The newest rumor among the live members; exit code 2 when none answers. */
  async rumor(): Promise<Rumor> {
    const live = await this.live();
    this.progress(`asking ${live.length} member${live.length === 1 ? '' : 's'}`);
    const rumor = await this.observer.rumor();
    if (!rumor) throw this.silent(live.length);
    return rumor;
  }

  /** The error for members that listen but do not answer: usually a secret that differs. */
  silent(listening: number): CliError {
    const hint = `${secretsOf(this.options) ? 'a wrong --secret' : 'does the cluster need a --secret'}? another simple-gossip version?`;
    return new CliError(
      EXIT.unreachable,
      `none of the ${listening} live member${listening === 1 ? '' : 's'} of "${this.options.namespace}" answered within ${this.options.timeout} ms (${hint})`,
    );
  }

  /** Stops the spinner and closes the connections; idempotent. */
  close(): Promise<void> {
    this.done();
    return (this.#closing ??= this.#observer ? withDeadline(this.#observer.close(), 2_000, 'close').catch(() => undefined) : Promise.resolve());
  }
}

/**
 * One connection that does not retry, to fail fast with the reason Redis (or
 * the network) gave — the observer's own connections would retry for ever.
 */
async function probe(url: string, timeoutMs: number): Promise<void> {
  let reason: string | undefined;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectionName: 'simple-gossip:cli-probe',
  });
  client.on('error', (err: Error) => {
    reason ??= err.message;
  });
  try {
    await withDeadline(
      client.connect().then(() => client.ping()),
      timeoutMs,
      `no answer within ${timeoutMs} ms`,
    );
  } catch (err) {
    throw new CliError(EXIT.unreachable, `cannot reach Redis at ${redact(url)}: ${reason ?? (err as Error).message}`, { cause: err });
  } finally {
    // A client that ended already must not be told again: ioredis would arm a 2 s timer for a socket that is gone.
    if (client.status !== 'end') client.disconnect();
  }
}

/** `promise`, or a rejection with `message` after `ms`. */
function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
