/**
 * The Redis names of a namespace, for tests that look at what a node keeps
 * in Redis. Always built by the library's own {@link Keys} (hash-tagged, as
 * the nodes use them), never by hand.
 */
import { Keys } from '../../lib/transport/keys.js';
import type { Commands } from '../../lib/transport/connection.js';

export { Keys };

/** The names of `namespace`'s keys and channels, as every node builds them. */
export function keysOf(namespace: string): Keys {
  return new Keys(namespace, true);
}

/** A node key (`{ns}:snapshot:<id>`), as a hash: c, v, nodes, seen. Empty when it is gone. */
export async function readNodeKey(client: Commands, namespace: string, nodeId: string): Promise<Record<string, string>> {
  return client.hgetall(keysOf(namespace).snapshot(nodeId));
}

/** A cluster's hash (`{ns}:cluster:<id>`): v, h, nodes, leader, data fields… Empty when it is gone. */
export async function readClusterHash(client: Commands, namespace: string, clusterId: string): Promise<Record<string, string>> {
  return client.hgetall(keysOf(namespace).cluster(clusterId));
}

/** Redis's clock, in ms (what the node keys' `seen` is measured in). */
export async function redisNow(client: Commands): Promise<number> {
  const [s, us] = await client.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}
