import { Cluster, Redis } from 'ioredis';
import type { ClusterOptions, RedisOptions } from 'ioredis';
import { CliError, EXIT } from './exit.js';
import { redact } from './output.js';
import type { GlobalOptions } from './options.js';

/**
 * Where the CLI finds the cluster's Redis: one server (`--redis <url>`), or
 * a Redis Cluster (`--cluster`, each `--redis` a startup node).
 */
export class Target {
  private constructor(
    readonly urls: readonly string[],
    readonly cluster: boolean,
  ) {}

  /** From the command line; a usage error (exit 1) for URLs that do not fit the mode. */
  static of(g: Pick<GlobalOptions, 'redis' | 'cluster'>): Target {
    const urls = typeof g.redis === 'string' ? [g.redis] : [...g.redis];
    if (!g.cluster) {
      if (urls.length > 1) {
        throw new CliError(EXIT.usage, `${urls.length} --redis URLs: several are the startup nodes of a Redis Cluster, add --cluster`);
      }
      return new Target(urls, false);
    }
    for (const url of urls) startupNode(url);
    return new Target([...new Set(urls)], true);
  }

  /** For messages: the URL, or "the Redis Cluster at <url>, <url>" (passwords masked). */
  get name(): string {
    return this.cluster ? `the Redis Cluster at ${this.urls.map(redact).join(', ')}` : redact(this.urls[0]!);
  }

  /** For "cannot reach …". */
  get at(): string {
    return this.cluster ? this.name : `Redis at ${this.name}`;
  }

  /**
   * Fails fast (exit 2) with the reason Redis or the network gave. A Redis
   * Cluster needs one startup node that answers with `cluster_state:ok`.
   * Resolves with whether a standalone server is in fact a cluster node.
   */
  async probe(timeoutMs: number): Promise<{ clusterNode: boolean }> {
    if (!this.cluster) {
      const answer = await probe(this.urls[0]!, timeoutMs, async (client) => {
        await client.ping();
        return clusterEnabled(client);
      });
      if (!answer.ok) throw new CliError(EXIT.unreachable, `cannot reach ${this.at}: ${answer.reason}`);
      return { clusterNode: answer.value };
    }
    // The first node to answer cluster_state:ok will do; the others' reasons matter only when none does.
    const probes = this.urls.map((url) => probe(url, timeoutMs, clusterState));
    const healthy = (a: Answer<string>) => a.ok && a.value === 'ok';
    const anyHealthy = Promise.any(probes.map(async (p) => (healthy(await p) ? true : Promise.reject(new Error('not ok')))));
    if (await anyHealthy.catch(() => false)) return { clusterNode: true };
    const answers = await Promise.all(probes);
    const reasons = answers.map((a, i) => {
      const reason = a.ok ? `cluster_state:${a.value} (the cluster is down, or not set up yet)` : (notACluster(a.reason) ?? a.reason);
      return this.urls.length === 1 ? reason : `${redact(this.urls[i]!)}: ${reason}`;
    });
    throw new CliError(EXIT.unreachable, `cannot reach ${this.at}: ${reasons.join('; ')}`);
  }

  /** What to give Observer.connect: the URL, or a new ioredis Cluster (the caller closes it). */
  connection(timeoutMs: number): string | Cluster {
    if (!this.cluster) return this.urls[0]!;
    const first = new URL(this.urls[0]!);
    const redisOptions: RedisOptions = {
      connectTimeout: timeoutMs,
      connectionName: 'simple-gossip:cli',
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    };
    const options: ClusterOptions = { redisOptions, slotsRefreshTimeout: Math.max(1_000, timeoutMs) };
    const client = new Cluster(this.urls.map(startupNode), options);
    // The observer reports its own connections' errors; this client's must not reach stderr as "[ioredis] Unhandled error".
    client.on('error', () => undefined);
    return client;
  }
}

/** A startup node of a Redis Cluster: host and port of a redis:// or rediss:// URL. */
function startupNode(url: string): { host: string; port: number } {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  if (!u || (u.protocol !== 'redis:' && u.protocol !== 'rediss:') || !u.hostname) {
    throw new CliError(EXIT.usage, `not a Redis URL: ${JSON.stringify(redact(url))} (expected redis://host:port)`);
  }
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: u.port ? Number(u.port) : 6379 };
}

type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * One connection that does not retry, to fail fast with the reason Redis (or
 * the network) gave — the observer's own connections would retry for ever.
 */
async function probe<T>(url: string, timeoutMs: number, ask: (client: Redis) => Promise<T>): Promise<Answer<T>> {
  let reason: string | undefined;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectionName: 'simple-gossip:cli-probe',
  });
  client.on('error', (err: Error) => {
    reason ??= err.message;
  });
  try {
    const value = await withDeadline(
      client.connect().then(() => ask(client)),
      timeoutMs,
      `no answer within ${timeoutMs} ms`,
    );
    return { ok: true, value };
  } catch (err) {
    return { ok: false, reason: reason ?? (err as Error).message };
  } finally {
    // A client that ended already must not be told again: ioredis would arm a 2 s timer for a socket that is gone.
    if (client.status !== 'end') client.disconnect();
  }
}

/** `cluster_state` of CLUSTER INFO: 'ok' or 'fail'. */
async function clusterState(client: Redis): Promise<string> {
  const info = (await client.call('CLUSTER', 'INFO')) as string;
  return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
}

/** Whether a server runs in cluster mode (false when it will not say). */
async function clusterEnabled(client: Redis): Promise<boolean> {
  try {
    return /^cluster_enabled:1/m.test(await client.info('cluster'));
  } catch {
    return false;
  }
}

function notACluster(reason: string): string | undefined {
  return /cluster support disabled/i.test(reason) ? 'not a Redis Cluster node (cluster support disabled): drop --cluster' : undefined;
}

/** `promise`, or a rejection with `message` after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
