/**
 * A consumer's code, compiled (never run) by spec/integration/ioredis-clients.test.ts:
 * a service passes the clients of its own ioredis, 5 (BullMQ's) or 6, and
 * tsc takes them; each line marked @ts-expect-error is a mistake it must catch.
 */
import { Cluster as Cluster6, Redis as Redis6 } from 'ioredis';
import { Cluster as Cluster5, Redis as Redis5 } from 'ioredis5';
import { Gossip, Observer } from '../../lib/index.js';
import type { GossipOptions, RedisClient } from '../../lib/index.js';

export async function startsWithEitherIoredis(): Promise<void> {
  const bullmqConnection = new Redis5({ maxRetriesPerRequest: null, lazyConnect: true });
  await Gossip.start({ redis: bullmqConnection });
  await Gossip.start<{ flags: string[] }>({ redis: new Redis5('redis://127.0.0.1:6379'), namespace: 'flags' });
  await Gossip.start({ redis: new Cluster5([{ host: '127.0.0.1', port: 7000 }]) });
  await Gossip.start({ redis: new Redis6() });
  await Gossip.start({ redis: new Redis6({ protocol: 3, replyMapping: 'resp3' }) });
  await Gossip.start({ redis: new Cluster6([{ host: '127.0.0.1', port: 7000 }], { shardedSubscribers: true }) });
  await Observer.connect({ redis: new Redis5() });
  await Observer.connect({ redis: new Cluster5([]) });

  const fromVariable: GossipOptions['redis'] = bullmqConnection;
  const asClient: RedisClient = new Cluster5([]);
  const options: GossipOptions = { redis: { host: '127.0.0.1', port: 6379, db: 1 } };
  void [fromVariable, asClient, options];
}

export async function catchesMistakes(): Promise<void> {
  // @ts-expect-error: not a URL, options or a client
  await Gossip.start({ redis: 6379 });
  // @ts-expect-error: a client must be one that can be duplicated
  await Gossip.start({ redis: { isCluster: false, options: {}, duplicate: true } });
  // @ts-expect-error: the Redis class itself, not a client
  await Gossip.start({ redis: Redis5 });
}
