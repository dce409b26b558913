import { Redis } from 'ioredis';
import type { Cluster, RedisOptions } from 'ioredis';
import { InvalidOptionError, RedisUnreachableError } from '../errors.js';
import { hasShardedSubscribers, isClient, isClusterClient } from './client.js';
import type { RedisClient } from './client.js';

export type RedisInput = string | RedisOptions | RedisClient;

/**
 * A client that runs commands: a standalone Redis or a Redis Cluster. One
 * duplicated from a client passed in is of the caller's ioredis (5 or 6) at
 * run time: only commands and events that both have are used.
 */
export type Commands = Redis | Cluster;

export interface ConnectionEvents {
  readonly onMessage: (channel: string, message: string) => void;
  /** Either connection came back after a drop: changes were missed meanwhile. */
  readonly onReconnect: () => void;
  readonly onError: (err: Error) => void;
}

/**
 * A node's two connections: one for commands and publishing, one that only
 * subscribes. A client the user passed is duplicated and never closed;
 * ioredis reconnects both and replays the subscriptions after a drop. The
 * two flavours differ only in how they publish, subscribe and count.
 */
export abstract class Connection {
  abstract readonly cmd: Commands;
  abstract readonly sub: Commands;
  /** How a script publishes to a member's channel, and counts its listeners. */
  abstract readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  abstract readonly numsubCommand: 'NUMSUB' | 'SHARDNUMSUB';

  static open(input: RedisInput, events: ConnectionEvents): Connection {
    return isClusterClient(input) ? new ClusterConnection(input, events) : new StandaloneConnection(input, events);
  }

  abstract publish(channel: string, message: string): Promise<number>;
  abstract subscribe(channel: string): Promise<void>;
  /** How many clients subscribe to each channel, exactly (pattern subscribers not counted). */
  abstract listenersOf(channels: readonly string[]): Promise<number[]>;
  /** The channels matching `pattern` that have a subscriber (never KEYS, never a scan of the keyspace). */
  abstract channels(pattern: string): Promise<string[]>;

  async listeners(channel: string): Promise<number> {
    return (await this.listenersOf([channel]))[0] ?? 0;
  }

  get isReady(): boolean {
    return this.cmd.status === 'ready' && this.sub.status === 'ready';
  }

  /**
   * Resolves once both connections are ready; with a timeout (or a signal),
   * rejects after it with an error that names the address and the last
   * connection error.
   */
  async ready(timeoutMs?: number, signal?: AbortSignal): Promise<void> {
    const both = Promise.all([waitReady(this.cmd), waitReady(this.sub)]);
    if (timeoutMs === undefined && signal === undefined) {
      await both;
      return;
    }
    signal?.throwIfAborted();
    let last: Error | undefined;
    const remember = (err: Error) => void (last = err);
    this.cmd.on('error', remember);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        both,
        new Promise((_, reject) => {
          const fail = (why: string, cause?: unknown) =>
            reject(new RedisUnreachableError(`could not connect to Redis at ${this.address}${why}${last ? `: ${last.message}` : ''}`, { cause: cause ?? last }));
          if (timeoutMs !== undefined) timer = setTimeout(() => fail(` within ${timeoutMs} ms`), timeoutMs);
          onAbort = () => fail(' (aborted)', signal!.reason);
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.cmd.off('error', remember);
    }
  }

  /** Where it connects, for messages (no password). */
  get address(): string {
    if (this.cmd.isCluster) {
      const nodes = (this.cmd as unknown as { startupNodes: unknown }).startupNodes as Array<{ host?: string; port?: number } | string | number>;
      return `the Redis Cluster ${nodes.map((n) => (typeof n === 'object' ? `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}` : String(n))).join(', ')}`;
    }
    const { host, port, path } = (this.cmd as Redis).options;
    return path ? path : `${host ?? '127.0.0.1'}:${port ?? 6379}`;
  }

  /** Unsubscribes first (so the channel has no listener once this resolves: the id is free again), then quits both. */
  async close(): Promise<void> {
    if (this.sub.status === 'ready') {
      try {
        await this.unsubscribeAll();
      } catch {
        // Quitting drops the subscriptions anyway.
      }
    }
    await Promise.allSettled([quit(this.sub), quit(this.cmd)]);
  }

  protected abstract unsubscribeAll(): Promise<unknown>;

  protected watch(events: ConnectionEvents): void {
    for (const client of [this.cmd, this.sub]) {
      client.on('error', events.onError);
      // Each client reports 'ready' once at start; any later 'ready' is a reconnect.
      let readies = 0;
      client.on('ready', () => {
        if (++readies > 1) events.onReconnect();
      });
    }
  }
}

/** One Redis: PUBLISH/SUBSCRIBE, PUBSUB NUMSUB and CHANNELS. */
class StandaloneConnection extends Connection {
  readonly cmd: Redis;
  readonly sub: Redis;
  readonly publishCommand = 'PUBLISH';
  readonly numsubCommand = 'NUMSUB';

  constructor(input: string | RedisOptions | RedisClient, events: ConnectionEvents) {
    super();
    this.cmd = openStandalone(input, 'cmd');
    this.sub = openStandalone(input, 'sub');
    this.sub.on('message', events.onMessage);
    this.watch(events);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.cmd.publish(channel, message);
  }

  async subscribe(channel: string): Promise<void> {
    await this.sub.subscribe(channel);
  }

  protected unsubscribeAll(): Promise<unknown> {
    return this.sub.unsubscribe();
  }

  async listenersOf(channels: readonly string[]): Promise<number[]> {
    if (channels.length === 0) return [];
    const reply = (await this.cmd.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>;
    return channels.map((_, i) => Number(reply[2 * i + 1] ?? 0));
  }

  async channels(pattern: string): Promise<string[]> {
    return (await this.cmd.call('PUBSUB', 'CHANNELS', pattern)) as string[];
  }
}

/**
 * A Redis Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE), so each node's
 * channel lives on the shard that owns its slot. A channel's subscribers
 * are known only to its shard, so counts and channel lists ask every master.
 */
class ClusterConnection extends Connection {
  readonly cmd: Cluster;
  readonly sub: Cluster;
  readonly publishCommand = 'SPUBLISH';
  readonly numsubCommand = 'SHARDNUMSUB';

  constructor(input: RedisClient, events: ConnectionEvents) {
    super();
    if (!hasShardedSubscribers(input)) {
      throw new InvalidOptionError('redis', "is a Redis Cluster client of an ioredis without sharded subscribers (the 'shardedSubscribers' option): use ioredis 5.9 or later");
    }
    this.cmd = input.duplicate() as Cluster;
    this.sub = input.duplicate(undefined, { shardedSubscribers: true }) as Cluster;
    this.sub.on('smessage', events.onMessage);
    this.watch(events);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.cmd.spublish(channel, message) as Promise<number>;
  }

  readonly #channels = new Set<string>();

  async subscribe(channel: string): Promise<void> {
    await this.sub.ssubscribe(channel);
    this.#channels.add(channel);
  }

  protected unsubscribeAll(): Promise<unknown> {
    // ioredis's cluster subscriber needs the channels named (with none it throws, synchronously).
    const channels = [...this.#channels];
    return channels.length === 0 ? Promise.resolve() : this.sub.sunsubscribe(...channels);
  }

  async listenersOf(channels: readonly string[]): Promise<number[]> {
    if (channels.length === 0) return [];
    const replies = await Promise.all(this.cmd.nodes('master').map((m) => m.call('PUBSUB', 'SHARDNUMSUB', ...channels) as Promise<Array<string | number>>));
    return channels.map((_, i) => replies.reduce((sum, r) => sum + Number(r[2 * i + 1] ?? 0), 0));
  }

  async channels(pattern: string): Promise<string[]> {
    const replies = await Promise.all(this.cmd.nodes('master').map((m) => m.call('PUBSUB', 'SHARDCHANNELS', pattern) as Promise<string[]>));
    return [...new Set(replies.flat())];
  }
}

function openStandalone(input: string | RedisOptions | RedisClient, role: string): Redis {
  if (typeof input === 'string') return new Redis(input, { connectionName: `simple-gossip:${role}` });
  if (isClient(input)) return input.duplicate() as Redis;
  return new Redis({ connectionName: `simple-gossip:${role}`, ...input });
}

function waitReady(client: Commands): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      client.off('ready', onReady);
      reject(new Error('the Redis connection closed before it was ready'));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}

async function quit(client: Commands): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
