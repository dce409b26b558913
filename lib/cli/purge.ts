import { Cluster } from 'ioredis';
import { isLive, parseEntry } from '../model/housekeeping.js';
import type { ClusterEntry } from '../model/housekeeping.js';
import type { Commands } from '../transport/connection.js';
import { EXIT } from './exit.js';
import { println, table, toJson } from './output.js';
import type { Direct, Session } from './session.js';

/** `purge`'s options: how old "old" is, and whether to only show what would go. */
export interface PurgeOptions {
  readonly dryRun: boolean;
  readonly olderThanMs: number;
}

/** Found on a node key `{ns}:snapshot:<id>`: the fields as read, for the delete to check they did not move. */
interface NodeKeyRow {
  readonly id: string;
  readonly key: string;
  readonly cluster: string;
  /** Its last tick (Redis ms), '' when it never ticked. */
  readonly seen: string;
}

/** Found on a cluster hash `{ns}:cluster:<id>`, or only in the registry (hash ''). */
interface ClusterRow {
  readonly id: string;
  readonly hash: string;
  readonly version: number | undefined;
  readonly nodes: readonly string[];
  /** Its registry entry as read ('' when it has none). */
  readonly entryText: string;
  readonly entry: ClusterEntry | undefined;
}

/**
 * Deletes a node key only if it still holds what was read (its node did not
 * tick or move meanwhile) and nobody listens on its node's channel.
 *
 * KEYS[1]  the node key              {ns}:snapshot:<id>
 * ARGV[1]  its `seen` as read        '' when absent
 * ARGV[2]  its `c` as read           '' when absent
 * ARGV[3]  the node's channel        {ns}:node:<id>
 * ARGV[4]  NUMSUB | SHARDNUMSUB
 * Returns 1 (deleted) or 0 (left alone)
 */
const DELETE_NODE_KEY = `
local f = redis.call('HMGET', KEYS[1], 'seen', 'c')
if (f[1] or '') ~= ARGV[1] or (f[2] or '') ~= ARGV[2] then return 0 end
local listeners = redis.call('PUBSUB', ARGV[4], ARGV[3])
if tonumber(listeners[2]) > 0 then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * Deletes a cluster's hash and its registry entry only if neither changed
 * since they were read (no commit, no member refreshed the entry).
 *
 * KEYS[1]  the cluster's hash        {ns}:cluster:<id>
 * KEYS[2]  the registry              {ns}:clusters
 * ARGV[1]  its hash chain head `h`   as read, '' when the hash is gone
 * ARGV[2]  its registry entry        as read, '' when it has none
 * ARGV[3]  the cluster id
 * Returns 1 (deleted) or 0 (left alone)
 */
const DELETE_CLUSTER = `
if (redis.call('HGET', KEYS[1], 'h') or '') ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[2], ARGV[3]) or '') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[3])
return 1`;

/**
 * `purge [--dry-run] [--older-than <duration>]`: deletes what nobody uses
 * any more in the namespace, found with SCAN (never KEYS):
 * - a node key whose node has not ticked for `olderThanMs`, nobody listens
 *   on its channel, and no live cluster lists it as a member (a stopped
 *   member of a live cluster keeps its key: it is how it comes back into
 *   its cluster; `evict` it first);
 * - a cluster whose registry entry is not live (and is older than
 *   `olderThanMs`), that no node key left points to, and none of whose
 *   members listens — its hash and its registry entry.
 * Each delete checks, in one script, that what it deletes did not change
 * since it was read.
 */
export async function purge(s: Session, o: PurgeOptions): Promise<number> {
  const direct = await s.direct();
  const { conn, keys, store } = direct;
  s.progress(`scanning "${s.options.namespace}"`);
  const now = await store.time();
  const [nodeKeys, clusters, live] = await Promise.all([readNodeKeys(direct), readClusters(direct), s.observer.live().then((ids) => new Set(ids))]);

  const old = (seen: number) => now - seen > o.olderThanMs;
  const clusterLive = (c: ClusterRow | undefined) => !!c?.entry && (isLive(c.entry, now) || !old(c.entry.seen));
  const listedByLive = (k: NodeKeyRow) => {
    const c = clusters.get(k.cluster);
    return clusterLive(c) && c!.nodes.includes(k.id);
  };
  const staleKeys = nodeKeys.filter((k) => !live.has(k.id) && old(Number(k.seen || 0)) && !listedByLive(k));

  const deletedKeys: NodeKeyRow[] = [];
  for (const k of staleKeys) {
    if (o.dryRun) deletedKeys.push(k);
    else if (Number(await conn.cmd.eval(DELETE_NODE_KEY, 1, k.key, k.seen, k.cluster, keys.node(k.id), conn.numsubCommand)) === 1) deletedKeys.push(k);
  }
  const keptKeys = nodeKeys.filter((k) => !deletedKeys.includes(k));
  const unused = [...clusters.values()].filter((c) => !clusterLive(c) && !keptKeys.some((k) => k.cluster === c.id) && !c.nodes.some((n) => live.has(n)));
  const deletedClusters: ClusterRow[] = [];
  for (const c of unused) {
    if (o.dryRun) deletedClusters.push(c);
    else if (Number(await conn.cmd.eval(DELETE_CLUSTER, 2, keys.cluster(c.id), keys.clusters, c.hash, c.entryText, c.id)) === 1) deletedClusters.push(c);
  }
  const keptClusters = [...clusters.values()].filter((c) => !deletedClusters.includes(c));

  s.done();
  if (s.options.json) {
    println(
      toJson({
        dryRun: o.dryRun,
        olderThanMs: o.olderThanMs,
        purged: {
          nodeKeys: deletedKeys.map((k) => ({ id: k.id, cluster: k.cluster || null, seen: k.seen ? Number(k.seen) : null })),
          clusters: deletedClusters.map((c) => ({ id: c.id, version: c.version ?? null, nodes: c.nodes, seen: c.entry?.seen ?? null })),
        },
        kept: { nodeKeys: keptKeys.map((k) => k.id), clusters: keptClusters.map((c) => c.id) },
      }),
    );
    return EXIT.ok;
  }
  const rows = [
    ...deletedKeys.map((k) => ['node key', k.id, k.cluster ? `in cluster ${k.cluster}` : '-', k.seen ? `${ago(now - Number(k.seen))} ago` : 'never']),
    ...deletedClusters.map((c) => [
      'cluster',
      c.id,
      c.version === undefined ? 'registry entry only' : `version ${c.version}, members ${c.nodes.join(' ')}`,
      c.entry ? `${ago(now - c.entry.seen)} ago` : 'never',
    ]),
  ];
  const kept = `kept ${count(keptKeys.length, 'node key')} and ${count(keptClusters.length, 'cluster')}`;
  if (rows.length === 0) {
    println(`nothing to purge (${kept})`);
    return EXIT.ok;
  }
  const purged = `${count(deletedKeys.length, 'node key')} and ${count(deletedClusters.length, 'cluster')}`;
  println(table(['KIND', 'ID', 'WHAT', 'LAST SEEN'], rows));
  println(`\n${o.dryRun ? 'would purge' : 'purged'} ${purged} (${kept})${o.dryRun ? '; nothing deleted (--dry-run)' : ''}`);
  return EXIT.ok;
}

/** Undefined for a key that holds another type than a hash (WRONGTYPE); any other error (Redis gone) fails the command. */
function unlessWrongType(err: unknown): undefined {
  if (err instanceof Error && err.message.startsWith('WRONGTYPE')) return undefined;
  throw err;
}

async function readNodeKeys({ conn, keys }: Direct): Promise<NodeKeyRow[]> {
  const prefix = keys.snapshot('');
  const names = await scan(conn.cmd, keys.snapshot('*'));
  const rows = await Promise.all(
    names.map(async (key): Promise<NodeKeyRow | undefined> => {
      // Not a node key of this version (another type under the name): not ours to judge.
      const f = await conn.cmd.hmget(key, 'c', 'seen').catch(unlessWrongType);
      if (!f) return undefined;
      return { id: key.slice(prefix.length), key, cluster: f[0] ?? '', seen: f[1] ?? '' };
    }),
  );
  return rows.filter((r): r is NodeKeyRow => r !== undefined);
}

async function readClusters({ conn, keys }: Direct): Promise<Map<string, ClusterRow>> {
  const prefix = keys.cluster('');
  const [names, registry] = await Promise.all([scan(conn.cmd, keys.cluster('*')), conn.cmd.hgetall(keys.clusters)]);
  const ids = new Set([...names.map((n) => n.slice(prefix.length)), ...Object.keys(registry)]);
  const rows = await Promise.all(
    [...ids].map(async (id): Promise<ClusterRow | undefined> => {
      // Not a cluster hash (another type under the name): left alone, like a node key that is not one.
      const f = await conn.cmd.hmget(keys.cluster(id), 'v', 'h', 'nodes').catch(unlessWrongType);
      if (!f) return undefined;
      const entryText = registry[id] ?? '';
      return {
        id,
        hash: f[1] ?? '',
        version: f[0] === null || f[0] === undefined ? undefined : Number(f[0]),
        nodes: (f[2] ?? '').split(' ').filter((n) => n !== ''),
        entryText,
        entry: entryText ? parseEntry(id, entryText) : undefined,
      };
    }),
  );
  return new Map(rows.filter((r): r is ClusterRow => r !== undefined).map((r) => [r.id, r]));
}

/** Every key matching `pattern`, by SCAN on each master (a Redis Cluster keeps the namespace in one slot, on one of them). */
async function scan(cmd: Commands, pattern: string): Promise<string[]> {
  const clients = cmd instanceof Cluster ? cmd.nodes('master') : [cmd];
  const found = new Set<string>();
  for (const client of clients) {
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) found.add(key);
    } while (cursor !== '0');
  }
  return [...found].sort();
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** A duration for people: 850 ms, 12 s, 5 min, 3 h, 2 d. */
export function ago(ms: number): string {
  const m = Math.max(0, ms);
  if (m < 1_000) return `${Math.round(m)} ms`;
  if (m < 60_000) return `${Math.round(m / 1_000)} s`;
  if (m < 3_600_000) return `${Math.round(m / 60_000)} min`;
  if (m < 86_400_000) return `${Math.round(m / 3_600_000)} h`;
  return `${Math.round(m / 86_400_000)} d`;
}
