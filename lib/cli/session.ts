import type { Cluster } from 'ioredis';
import yoctoSpinner from 'yocto-spinner';
import type { Spinner } from 'yocto-spinner';
import { REPLAY_WINDOW_MS } from '../constants.js';
import { Observer, PersistenceError } from '../index.js';
import type { MemberView, Rumor } from '../index.js';
import { Store } from '../node/store.js';
import { resolveOptions } from '../options.js';
import { Signer } from '../signing.js';
import { Connection } from '../transport/connection.js';
import { Keys } from '../transport/keys.js';
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
  /** What the observer was given as `redis`: the URL, or the Redis Cluster client. */
  #redis: string | Cluster | undefined;
  #direct: Promise<Direct> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly options: GlobalOptions,
    readonly target: Target,
  ) {
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
      session.#redis = redis;
      if (typeof redis !== 'string') session.#cluster = redis;
      // Redis answered the probe, so this is quick; should it hang, the process exits anyway (see main.ts).
      session.#observer = await withDeadline(Observer.connect({ ...observerOptions, redis }), options.timeout, `no connection to ${target.name} within ${options.timeout} ms`);
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

  /** The main cluster's state, read from Redis (the live one discovery would join); exit code 2 when no member is live or there is none. */
  async rumor(): Promise<Rumor> {
    const live = await this.live();
    this.progress(`asking ${live.length} member${live.length === 1 ? '' : 's'}`);
    const rumor = await this.observer.rumor().catch((err: unknown) => this.#unreadable(err));
    if (!rumor) throw this.silent(live.length);
    return rumor;
  }

  /** A state whose signatures this CLI's secrets do not verify: exit code 2, with the likely reason. */
  #unreadable(err: unknown): never {
    if (err instanceof PersistenceError && /not signed by a known secret/.test(err.message)) {
      throw new CliError(EXIT.unreachable, `${err.message} (${secretsOf(this.options) ? 'a wrong --secret' : 'does the cluster need a --secret'}?)`, { cause: err });
    }
    throw err;
  }

  /**
   * The main cluster's members, once at least one of them has answered this
   * CLI; exit code 2 when none does. Members drop requests that are not
   * signed with their secret, so this is also the check that the CLI has the
   * right --secret: a write made without it would commit values the members
   * refuse to read.
   */
  async answering(): Promise<{ rumor: Rumor; members: MemberView[] }> {
    const live = await this.live();
    this.progress(`asking ${live.length} member${live.length === 1 ? '' : 's'} for their version`);
    const { rumor, members } = await this.observer.members().catch((err: unknown) => this.#unreadable(err));
    if (!rumor || !members.some((m) => m.version !== undefined)) {
      throw this.silent(members.filter((m) => m.listening).length || live.length);
    }
    return { rumor, members };
  }

  /**
   * Redis itself, for what the observer does not offer (evict, purge): a
   * connection of the CLI's own and a {@link Store} that commits as an
   * observer (every member is told). Opened on first use, closed with the session.
   */
  direct(): Promise<Direct> {
    return (this.#direct ??= this.#openDirect());
  }

  async #openDirect(): Promise<Direct> {
    const o = resolveOptions({ namespace: this.options.namespace, nodeId: this.observer.id });
    const conn = Connection.open(this.#redis ?? this.target.urls[0]!, {
      onMessage: () => undefined,
      onReconnect: () => undefined,
      // Commands that fail reject; the connection's own errors (a retry) need no line on stderr.
      onError: () => undefined,
    });
    const keys = new Keys(o.namespace, true);
    const secrets = secretsOf(this.options);
    const store = new Store({
      self: this.observer.id,
      observer: true,
      namespace: o.namespace,
      conn,
      keys,
      signer: secrets ? new Signer(secrets) : undefined,
      nodeKeyTtlMs: o.nodeKeyTtlMs,
      replayWindowMs: REPLAY_WINDOW_MS,
    });
    try {
      await conn.ready(this.options.timeout);
    } catch (err) {
      await conn.close();
      throw asCliError(err, EXIT.unreachable, `cannot reach ${this.target.at}: `);
    }
    return { conn, keys, store };
  }

  /** The error for members that listen but do not answer: usually a secret that differs. */
  silent(listening: number): CliError {
    const hint = `${secretsOf(this.options) ? 'a wrong --secret' : 'does the cluster need a --secret'}? another simple-gossip version?`;
    return new CliError(EXIT.unreachable, `none of the ${listening} live member${listening === 1 ? '' : 's'} of "${this.options.namespace}" answered within ${this.options.timeout} ms (${hint})`);
  }

  /** Stops the spinner and closes the connections; idempotent. */
  close(): Promise<void> {
    this.done();
    return (this.#closing ??= this.#close());
  }

  async #close(): Promise<void> {
    // On the way out: a close that fails or hangs must not change the command's outcome, so each is bounded and its error dropped.
    if (this.#observer) await withDeadline(this.#observer.close(), 2_000, 'close').catch(() => undefined);
    const direct = await this.#direct?.catch(() => undefined);
    if (direct) await withDeadline(direct.conn.close(), 2_000, 'close').catch(() => undefined);
    const cluster = this.#cluster;
    if (cluster && cluster.status !== 'end') {
      await withDeadline(cluster.quit(), 1_000, 'close').catch(() => cluster.disconnect());
    }
  }
}

/** The CLI's own way into Redis: the connection, the namespace's names, and the state's reads and scripts. */
export interface Direct {
  readonly conn: Connection;
  readonly keys: Keys;
  readonly store: Store;
}
