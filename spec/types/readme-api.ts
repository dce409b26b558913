// The README's API examples, as it is written there (spec/integration/types.test.ts checks that it still is, and compiles it).
import { Gossip } from 'simple-gossip';
import type { DeepReadonly, Rumor, StandardSchemaV1 } from 'simple-gossip';

type Flags = { darkMode?: boolean; limit?: number; beta?: boolean };
declare const FlagsSchema: StandardSchemaV1<unknown, Flags>;
declare const node: Gossip<Flags>;
declare const v: Flags;
declare function reload(data: DeepReadonly<Flags> | undefined): void;
declare function audit(rumor: Rumor<Flags>): void;
declare function setLimit(limit: number | undefined): void;
declare const log: Console;
declare const handler: () => void;

export async function start(): Promise<void> {
const node = await Gossip.start<Flags>({
  redis: 'redis://127.0.0.1:6379', // URL | ioredis options | an ioredis 5 or 6 Redis or Cluster client (duplicated, never closed); default REDIS_URL
  nodeId: 'api-1',                 // stable and unique per process; default the host name (+ PM2 instance / node:cluster worker)
  namespace: 'flags',              // separates clusters on one Redis; default 'simple_gossip'
  eventMode: 'auto',               // 'auto' | 'sync' | 'async'
  gossipIntervalMs: 15_000,        // anti-entropy period (for a new cluster)
  fanout: 2,                       // members that get this node's head each period (for a new cluster)
  rpcTimeoutMs: 3_000,             // a request to another node
  statusTimeoutMs: 1_024,          // how long status() waits
  join: 'manual',                  // 'auto': join the namespace's main cluster by itself
  evictAfterMs: 0,                 // remove members silent that long; default 30_000 with join 'auto'
  connectTimeoutMs: 10_000,        // start() rejects, naming the address and the cause, when Redis is not reached
  signal: AbortSignal.timeout(5_000), // start() rejects when it aborts
  schema: FlagsSchema,             // a Standard Schema v1 (zod, valibot…) the data must match: see below; default none
  durability: { replicas: 1, timeoutMs: 500 }, // each commit waits for a replica (WAIT); default none
  nodeKeyTtlMs: 7 * 24 * 3600_000, // how long a stopped node's key outlives it
  secret: process.env.GOSSIP_SECRET, // sign every change and message (HMAC-SHA256); a list rotates
  maxMessageBytes: 8 * 1024 * 1024,
  logger: console,                 // console, pino…; default: the debug package, DEBUG=simple-gossip:*
});
}

export async function reading(): Promise<void> {
const flags = node.get();                 // DeepReadonly<T> | undefined, deep-frozen, synchronous
const limit = node.getCfg('limit', 100);  // config mode: a key of the data object, or the default
node.id; node.leader; node.nodes; node.version; node.rumor; // rumor: the whole state, frozen
}

export async function writing(): Promise<void> {
await node.set({ darkMode: true });                          // a value (undefined clears)
await node.set((cur) => cur?.darkMode ? 'no_change' : { change: { ...cur, darkMode: true } });
await node.setSync({ darkMode: false }, { timeoutMs: 2000 }); // waits until every member has it
await node.setCfg('limit', 200);                             // one key, in Redis; no other key is touched
await node.setCfgSync('limit', 300);
await node.deleteCfg('limit');                               // getCfg('limit', dflt) is dflt again, everywhere
await node.patchCfg({ limit: 10, beta: undefined });         // several keys in one commit; undefined removes
await node.setSync(v, { wait: 'majority' });                 // 'all' (default) | 'majority' | a count
await node.setSync(v, { signal: AbortSignal.timeout(500) }); // stop waiting (the write stays applied)
}

export async function membership(): Promise<void> {
await node.join('api-2');   // CouldNotConnectError ('could_not_connect_to_node') if api-2 does not answer
await node.leave('api-2');  // removes a member (or this node); the removed node goes on alone with its data
}

export async function health(): Promise<void> {
const s = await node.status();
// { ok: true, version, leader, nodes }
// { ok: false, error: 'gossip_vsn_mismatch', leader, nodes }        transient
// { ok: false, error: 'timeout', unresponsive: ['api-3'], leader, nodes }
node.ready;   // running and connected to Redis: a liveness probe, no I/O
node.synced;  // ready, and has compared its state with Redis's since (re)connecting
await node.whenSynced({ timeoutMs: 5_000 });
}

export async function events(): Promise<void> {
const off = node.subscribe(({ data, version }) => reload(data)); // 'data': only when the data changed
node.subscribe((rumor) => audit(rumor), 'rumor');                 // any change, membership included
const offKey = node.onKey('limit', (value, { version }) => setLimit(value)); // only when that key changed
node.on('error', (err) => log.warn(err));                         // bad messages, invalid states, throwing subscribers
off(); offKey(); node.unsubscribe(handler);
}

export async function lifecycle(): Promise<void> {
await node.setFanout(3);            // cluster-wide, versioned
await node.setGossipInterval(5000); // cluster-wide, versioned
node.metrics();                     // messages and bytes by type, drops by reason, counters
await node.stop();                  // idempotent; a leader hands the housekeeping over; membership kept
await node.stop({ leave: true });   // leave the cluster first
// or: await using node = await Gossip.start(...)   (TypeScript 5.2+, or Node 24)
}
