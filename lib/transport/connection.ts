import { Redis } from 'ioredis';
import type { Cluster, RedisOptions } from 'ioredis';

export type RedisInput = string | RedisOptions | Redis | Cluster;

/**
 * A node's two connections: one for commands and PUBLISH, one that only
 * subscribes. A client the user passed is duplicated and never closed;
 * ioredis reconnects both and replays the subscription after a drop.
 */
export class Connection {
  readonly cmd: Redis;
  readonly sub: Redis;

  constructor(input: RedisInput, onMessage: (channel: string, message: string) => void, onReconnect: () => void, onError: (err: Error) => void) {
    this.cmd = open(input, 'cmd');
    this.sub = open(input, 'sub');
    this.sub.on('message', onMessage);
    for (const client of [this.cmd, this.sub]) {
      client.on('error', onError);
    }
    // Each client reports 'ready' once at start; any later 'ready' is a reconnect (of either:
    // pushes are missed while the subscriber is away, requests wait while the other is).
    for (const client of [this.cmd, this.sub]) {
      let readies = 0;
      client.on('ready', () => {
        if (++readies > 1) onReconnect();
      });
    }
  }

  async ready(): Promise<void> {
    await Promise.all([waitReady(this.cmd), waitReady(this.sub)]);
  }

  async subscribe(channel: string): Promise<void> {
    await this.sub.subscribe(channel);
  }

  publish(channel: string, message: string): Promise<number> {
    return this.cmd.publish(channel, message);
  }

  /** Exactly how many clients subscribe to `channel` (pattern subscribers not counted). */
  async listeners(channel: string): Promise<number> {
    return (await this.listenersOf([channel]))[0] ?? 0;
  }

  /** {@link listeners} of several channels in one round trip. */
  async listenersOf(channels: readonly string[]): Promise<number[]> {
    if (channels.length === 0) return [];
    const reply = (await this.cmd.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>;
    return channels.map((_, i) => Number(reply[2 * i + 1] ?? 0));
  }

  /** The channels matching `pattern` that have a subscriber (PUBSUB CHANNELS: no KEYS, no scan of the keyspace). */
  async channels(pattern: string): Promise<string[]> {
    return (await this.cmd.call('PUBSUB', 'CHANNELS', pattern)) as string[];
  }

  async close(): Promise<void> {
    await Promise.allSettled([quit(this.sub), quit(this.cmd)]);
  }
}

function open(input: RedisInput, role: string): Redis {
  if (typeof input === 'string') return new Redis(input, { connectionName: `simple-gossip:${role}` });
  if (input instanceof Redis) return input.duplicate();
  if (isCluster(input)) throw new TypeError('Redis Cluster clients are not supported yet');
  return new Redis({ connectionName: `simple-gossip:${role}`, ...input });
}

function isCluster(x: unknown): x is Cluster {
  return typeof x === 'object' && x !== null && (x as { isCluster?: boolean }).isCluster === true;
}

function waitReady(client: Redis): Promise<void> {
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

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
