/**
 * An ioredis client passed in as the `redis` option, described by what
 * simple-gossip uses of it — so that a `Redis` or a `Cluster` of any ioredis
 * from 5 on fits, whichever copy of ioredis it comes from (a service's own,
 * BullMQ's). The client itself is only duplicated: it is never used for a
 * command, subscribed or closed.
 */
export interface RedisClient {
  /** True for a Redis Cluster (ioredis's `Cluster`), false for one server (`Redis`). */
  readonly isCluster: boolean;
  /** Its options: a Cluster's tell whether it can subscribe to sharded channels. */
  readonly options: object;
  /**
   * A new client with the same options and a connection of its own. A
   * Cluster's takes, as the second argument, options to change (its
   * subscriber gets `shardedSubscribers: true`).
   */
  duplicate(startupNodes?: undefined, override?: { readonly shardedSubscribers?: boolean }): object;
}

/** Whether `x` is a client to duplicate (rather than ioredis options). */
export function isClient(x: unknown): x is RedisClient {
  return typeof x === 'object' && x !== null && typeof (x as { duplicate?: unknown }).duplicate === 'function';
}

/** Whether `x` is a Redis Cluster client. */
export function isClusterClient(x: unknown): x is RedisClient {
  return isClient(x) && x.isCluster === true;
}

/**
 * Whether a Cluster client's ioredis has dedicated sharded subscribers
 * (ioredis 5.9 and later, where `shardedSubscribers` is among the defaults
 * of every Cluster's options). Without them an SSUBSCRIBE goes to whichever
 * node the subscriber happens to be on, and messages of the other shards
 * never arrive.
 */
export function hasShardedSubscribers(cluster: RedisClient): boolean {
  return 'shardedSubscribers' in cluster.options;
}
