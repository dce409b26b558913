import cluster from 'node:cluster';
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_NODE_KEY_TTL_MS } from './constants.js';
import { InvalidOptionError } from './errors.js';
import { debugLogger } from './logging.js';
import type { StandardSchemaV1 } from './schema.js';
import type { Secret } from './signing.js';
import type { RedisClient } from './transport/client.js';
import { isStandardSchema } from './validation.js';

/** How events reach subscribers: `sync` before the call that caused them returns, `async` on a later tick, `auto` async unless more than 3 are waiting. */
export type EventMode = 'auto' | 'sync' | 'async';

/** Anything with the usual four log methods: console, pino, winston… */
export interface Logger {
  /** Details for debugging. */
  debug(...args: unknown[]): void;
  /** Events worth knowing: a takeover, an eviction, a reconnect. */
  info(...args: unknown[]): void;
  /** Something went wrong and was handled. */
  warn(...args: unknown[]): void;
  /** Something went wrong and was not. */
  error(...args: unknown[]): void;
}

/** How many replicas must hold a commit before it is acknowledged, and how long to wait for them. */
export interface Durability {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/**
 * Options of {@link Gossip.start}; every one has a default. `T` is the data's
 * type (what `schema` validates); `GossipOptions` alone fits a node of any type.
 */
// `any` by default: options written without a type (a shared options object) fit a node of any type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface GossipOptions<T = any> {
  /**
   * Where the cluster meets: a URL, ioredis options, or an ioredis `Redis` or
   * `Cluster` of ioredis 5 or 6 (duplicated, never used or closed itself; a
   * Cluster needs ioredis 5.9 or later).
   * @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
   */
  redis?: string | RedisOptions | RedisClient;
  /**
   * Stable, unique per process. @default os.hostname(), plus PM2's instance
   * number (`NODE_APP_INSTANCE`) or the `node:cluster` worker id, so the
   * processes of one host do not share an id (a `node:cluster` worker that is
   * replaced gets a new worker id: give `nodeId` yourself to keep it)
   */
  nodeId?: string;
  /** Separates clusters on one Redis. @default 'simple_gossip' */
  namespace?: string;
  /** How events reach subscribers. @default 'auto' */
  eventMode?: EventMode;
  /**
   * Neighbours a node passes a change on to in the epidemic tree, for a node
   * that starts a new cluster. Used where Redis cannot fan a message out for
   * us (a Redis Cluster's sharded channels); on a standalone Redis a change
   * goes to every member in one command. @default 2
   */
  fanout?: number;
  /** Anti-entropy period, for a node that starts a new cluster. @default 15000 */
  gossipIntervalMs?: number;
  /** Timeout of a request to another node. @default 3000 */
  rpcTimeoutMs?: number;
  /** How long `status()` waits for members. @default 1024 */
  statusTimeoutMs?: number;
  /**
   * `'auto'`: a node finds the live members of its namespace through Redis
   * and joins them by itself, so nodes that start anywhere end as one
   * cluster, and a node that was removed comes back. `'manual'`: nodes join
   * only when `join()` is called, as in the original.
   * @default 'manual' (faithful to the original: `join`/`leave` mean what they say)
   */
  join?: 'manual' | 'auto';
  /**
   * The leader removes a member whose channel has had no listener for this
   * long, as if `leave` had been called. 0 turns eviction off. A slow member
   * (listening, answering late) is never evicted.
   * @default 30000 with join 'auto', 0 with join 'manual'
   */
  evictAfterMs?: number;
  /**
   * How long `start()` waits for Redis before it rejects, naming the address
   * and the cause. @default 10000
   */
  connectTimeoutMs?: number;
  /** Aborts `start()`: it rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * A Standard Schema v1 (zod, valibot, arktype, …) the data must match; the
   * node's type `T` is inferred from its output. A write whose resulting data
   * does not match rejects with {@link ValidationError} before anything is
   * sent; a state from another node or from Redis that does not match is
   * not installed: the node keeps its data and reports it on 'error'. An
   * async schema is awaited. `undefined` (no data yet) always matches, and
   * what is stored is the value written, not the schema's output.
   * @default none: any data is accepted
   */
  schema?: StandardSchemaV1<unknown, T>;
  /**
   * Each commit waits (a `WAIT`, pipelined with the script) until this many
   * replicas have it, at most `timeoutMs`; a commit that did not reach them
   * rejects with {@link DurabilityError} (it is applied on the primary, and
   * may be lost if that fails over). @default none: a commit is acknowledged
   * once the primary has it
   */
  durability?: Durability;
  /** How long a stopped node's key (which cluster it was in) outlives it in Redis. @default 7 days */
  nodeKeyTtlMs?: number;
  /** Largest message sent or accepted, in bytes. @default 8 MiB */
  maxMessageBytes?: number;
  /**
   * Shared secret(s): every message is signed with the first (HMAC-SHA256),
   * and one signed with any of them is accepted; unsigned or forged messages
   * are dropped. A list allows rotation. @default none (messages unsigned)
   */
  secret?: Secret | readonly Secret[];
  /**
   * Where diagnostics go: console, pino, winston — anything with
   * debug/info/warn/error. @default the `debug` package: silent unless
   * `DEBUG=simple-gossip:*` is set
   */
  logger?: Logger;
}

export interface ResolvedOptions extends Required<Omit<GossipOptions, 'redis' | 'secret' | 'signal' | 'durability' | 'schema'>> {
  readonly redis: NonNullable<GossipOptions['redis']>;
  readonly schema: StandardSchemaV1 | undefined;
  readonly secret: GossipOptions['secret'];
  readonly signal: AbortSignal | undefined;
  readonly durability: Durability | undefined;
}

const DEFAULT_RPC_TIMEOUT_MS = 3_000;
const DEFAULT_EVICT_AFTER_MS = 30_000;

/** The defaults of the options (but `redis`, `nodeId`, `evictAfterMs`, `secret` and `signal`, which depend on the environment or on other options). */
export const DEFAULT_OPTIONS = {
  namespace: 'simple_gossip',
  eventMode: 'auto',
  fanout: 2,
  gossipIntervalMs: 15_000,
  rpcTimeoutMs: DEFAULT_RPC_TIMEOUT_MS,
  statusTimeoutMs: 1_024,
  join: 'manual',
  connectTimeoutMs: 10_000,
  nodeKeyTtlMs: DEFAULT_NODE_KEY_TTL_MS,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  logger: debugLogger(),
} as const satisfies Omit<ResolvedOptions, 'redis' | 'nodeId' | 'secret' | 'signal' | 'durability' | 'evictAfterMs' | 'schema'>;

/** Fills in defaults and checks every option; throws {@link InvalidOptionError}. */
export function resolveOptions(opts: GossipOptions<unknown> = {}): ResolvedOptions {
  const o: ResolvedOptions = {
    ...DEFAULT_OPTIONS,
    ...withoutUndefined(opts),
    redis: opts.redis ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    secret: opts.secret,
    signal: opts.signal,
    durability: opts.durability,
    schema: opts.schema,
    nodeId: opts.nodeId ?? defaultNodeId(),
    evictAfterMs: opts.evictAfterMs ?? (opts.join === 'auto' ? DEFAULT_EVICT_AFTER_MS : 0),
  };
  checkName('nodeId', o.nodeId);
  checkName('namespace', o.namespace);
  if (!['auto', 'sync', 'async'].includes(o.eventMode)) {
    throw new InvalidOptionError('eventMode', `must be 'auto', 'sync' or 'async', not ${String(o.eventMode)}`);
  }
  checkInt('fanout', o.fanout, 1);
  checkInt('gossipIntervalMs', o.gossipIntervalMs, 1);
  checkInt('rpcTimeoutMs', o.rpcTimeoutMs, 1);
  checkInt('statusTimeoutMs', o.statusTimeoutMs, 1);
  checkInt('evictAfterMs', o.evictAfterMs, 0);
  if (o.join !== 'manual' && o.join !== 'auto') throw new InvalidOptionError('join', `must be 'manual' or 'auto', not ${String(o.join)}`);
  checkInt('maxMessageBytes', o.maxMessageBytes, 1024);
  checkInt('connectTimeoutMs', o.connectTimeoutMs, 1);
  checkInt('nodeKeyTtlMs', o.nodeKeyTtlMs, 1_000);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new InvalidOptionError('signal', 'must be an AbortSignal');
  if (o.durability !== undefined) {
    if (typeof o.durability !== 'object' || o.durability === null) throw new InvalidOptionError('durability', 'must be { replicas, timeoutMs }');
    checkInt('durability.replicas', o.durability.replicas, 1);
    checkInt('durability.timeoutMs', o.durability.timeoutMs, 1);
  }
  if (o.schema !== undefined && !isStandardSchema(o.schema)) {
    throw new InvalidOptionError('schema', "must be a Standard Schema v1 (an object with '~standard': { version: 1, validate }), as zod, valibot and arktype schemas are");
  }
  if (o.secret !== undefined) {
    const list = Array.isArray(o.secret) ? o.secret : [o.secret];
    if (list.length === 0 || list.some((s) => !(typeof s === 'string' || Buffer.isBuffer(s)) || s.length === 0)) {
      throw new InvalidOptionError('secret', 'must be a non-empty string or Buffer, or a non-empty list of them');
    }
  }
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof o.logger[level] !== 'function') throw new InvalidOptionError('logger', `has no ${level}() method`);
  }
  return o;
}

/** The host name, and which process of the host this is (PM2 instance, or node:cluster worker). */
export function defaultNodeId(env: NodeJS.ProcessEnv = process.env, worker: { id: number } | undefined = cluster.worker): string {
  const host = hostname();
  if (env.NODE_APP_INSTANCE !== undefined && env.NODE_APP_INSTANCE !== '') return `${host}-${env.NODE_APP_INSTANCE}`;
  if (worker !== undefined) return `${host}-w${worker.id}`;
  return host;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkName(option: string, value: unknown): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200 || /[\s*?[\]\\{}]/.test(value)) {
    throw new InvalidOptionError(option, 'must be a non-empty string of at most 200 characters, without spaces, braces, backslashes or glob characters (* ? [ ])');
  }
}

function checkInt(option: string, value: unknown, min: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new InvalidOptionError(option, `must be an integer >= ${min}, not ${String(value)}`);
  }
}
