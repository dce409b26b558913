import { afterEach } from 'vitest';
import { Gossip } from '../../lib/index.js';
import type { GossipOptions } from '../../lib/index.js';
import { freshNamespace } from './redis.js';

/**
 * Starts nodes for one test and stops them all after it, whatever happened.
 * Defaults keep tests quick: a short RPC timeout and a fast anti-entropy tick.
 */
export function useNodes(redisUrl: () => NonNullable<GossipOptions['redis']>, defaults: GossipOptions = {}) {
  let live: Array<Pick<Gossip, 'stop'>> = [];
  let ns = freshNamespace();
  afterEach(async () => {
    const nodes = live;
    live = [];
    ns = freshNamespace();
    await Promise.allSettled(nodes.map((n) => n.stop()));
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's nodes hold whatever that test writes: it reads its own shape back without a cast
  async function start<T = any>(nodeId: string, options: GossipOptions = {}): Promise<Gossip<T>> {
    const node = await Gossip.start<T>({
      redis: redisUrl(),
      namespace: ns,
      nodeId,
      rpcTimeoutMs: 1_000,
      gossipIntervalMs: 1_000,
      ...defaults,
      ...options,
    });
    live.push(node);
    return node;
  }

  /** Starts `ids` and joins them all into the first one's cluster. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as start's
  async function cluster<T = any>(ids: readonly string[], options: GossipOptions = {}): Promise<Gossip<T>[]> {
    const nodes: Gossip<T>[] = [];
    for (const id of ids) nodes.push(await start<T>(id, options));
    for (const n of nodes.slice(1)) await nodes[0]!.join(n.id);
    await eventually(() => nodes.every((n) => n.nodes.length === ids.length && n.version === nodes[0]!.version));
    return nodes;
  }

  return { start, cluster, namespace: () => ns };
}

/** Polls `check` until it returns true (or stops throwing), or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | void | Promise<boolean | void>, timeoutMs = 5_000, label = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const ok = await check();
      if (ok !== false) return;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw last instanceof Error ? last : new Error(`${label} not reached within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves with the next event `register` delivers. */
export function nextEvent<E>(register: (handler: (e: E) => void) => () => void, timeoutMs = 5_000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = register((e) => {
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
