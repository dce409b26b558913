import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNodes, eventually } from '../support/cluster.js';
import { RedisServer } from '../support/redis.js';

// This file kills its Redis, so it always runs its own server.
let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

const { cluster, namespace } = useNodes(() => server.url);

describe('Redis restarts empty', () => {
  it('every node reconnects, rewrites its snapshot, and the cluster takes writes again', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setSync({ before: true });
    await server.kill();
    await server.restart();
    const probe = new Redis(server.url);
    try {
      expect(await probe.keys('*')).toEqual([]);
      // Snapshots come back without anyone writing.
      await eventually(async () => (await probe.exists(...nodes.map((n) => `${namespace()}:snapshot:${n.id}`))) === 3, 15_000);
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
