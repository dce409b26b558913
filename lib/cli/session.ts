import type { Cluster } from 'ioredis';
import yoctoSpinner from 'yocto-spinner';
import type { Spinner } from 'yocto-spinner';
import { Observer } from '../index.js';
import { resolveOptions } from '../options.js';
import type { Rumor } from '../index.js';
import { CliError, EXIT, asCliError } from './exit.js';
import { secretsOf } from './options.js';
import type { GlobalOptions } from './options.js';
import { Target, withDeadline } from './redis.js';

/**
 * One run of a command: an observer connected to the cluster's Redis (never
 * a member), and a spinner on stderr while it waits (only on a terminal, and
 * never with --json).
 */
export class Session {
  readonly #spinner: Spinner | undefined;
  #observer: Observer | undefined;
  /** The Redis Cluster client made for the observer (which duplicates it and never closes it). */
  #cluster: Cluster | undefined;
  /** A standalone --redis that is in fact a Redis Cluster node: worth a hint when no member is found. */
  #clusterNode = false;
  #closing: Promise<void> | undefined;

  private constructor(readonly options: GlobalOptions, readonly target: Target) {
    this.#spinner = process.stderr.isTTY && !options.json ? yoctoSpinner({ stream: process.stderr }) : undefined;
  }

  /** Connects; fails with exit code 1 for a bad option, 2 with the reason Redis gave. */
  static async open(options: GlobalOptions): Promise<Session> {
    const target = Target.of(options);
    const observerOptions = {
      redis: target.urls[0]!,
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
    const session = new Session(options, target);
    try {
      session.progress(`connecting to ${target.name}`);
      const { clusterNode } = await target.probe(options.timeout);
      session.#clusterNode = clusterNode && !target.cluster;
      const redis = target.connection(options.timeout);
      if (typeof redis !== 'string') session.#cluster = redis;
      // Redis answered the probe, so this is quick; should it hang, the process exits anyway (see main.ts).
      session.#observer = await withDeadline(
        Observer.connect({ ...observerOptions, redis }),
        options.timeout,
        `no connection to ${target.name} within ${options.timeout} ms`,
      );
      return session;
    } catch (err) {
      await session.close();
      if (err instanceof CliError) throw err;
      throw asCliError(err, EXIT.unreachable, `cannot reach ${target.at}: `);
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
      const hint = this.#clusterNode ? ' (a Redis Cluster node: add --cluster)' : '';
      throw new CliError(EXIT.unreachable, `no live member in namespace "${this.options.namespace}" on ${this.target.name}${hint}`);
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
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    if (this.#observer) await withDeadline(this.#observer.close(), 2_000, 'close').catch(() => undefined);
    const cluster = this.#cluster;
    if (cluster && cluster.status !== 'end') {
      await withDeadline(cluster.quit(), 1_000, 'close').catch(() => cluster.disconnect());
    }
  }
}
