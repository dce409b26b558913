import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useNodes, eventually } from '../support/cluster.js';
import { useOwnRedisServer } from '../support/redis.js';
import { Keys } from '../../lib/transport/keys.js';

// This file kills its Redis, so it always runs its own server.
const own = useOwnRedisServer();

const { cluster, namespace } = useNodes(() => own().url);

describe('Redis restarts empty', () => {
  it('every node reconnects, the newest state is restored from the members, node keys come back, and the cluster takes writes again', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setSync({ before: true });
    await own().kill();
    await own().restart();
    const probe = new Redis(own().url);
    try {
      expect(await probe.keys('*')).toEqual([]);
      const keys = new Keys(namespace(), true);
      // The cluster's state and every node key come back without anyone writing.
      await eventually(async () => (await probe.exists(keys.cluster(nodes[0]!.rumor.cluster), ...nodes.map((n) => keys.snapshot(n.id)))) === 4, 15_000);
      expect(await probe.hget(keys.cluster(nodes[0]!.rumor.cluster), 'v')).toBe(String(nodes[0]!.version));
      // Subscriptions come back too: a write reaches everyone.
      await eventually(async () => {
        await nodes[2]!.setSync({ after: true }, { timeoutMs: 1_000 });
      }, 15_000);
      for (const n of nodes) expect(n.get()).toEqual({ after: true });
    } finally {
      await probe.quit();
    }
  }, 40_000);
});
