import { Redis } from 'ioredis';
import { Keys } from '../../lib/transport/keys.js';
import { describe, expect, it } from 'vitest';
import { converged, leaderOf, useChildren } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useOwnRedisServer } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now, WriteLoop } from '../support/write-loop.js';

// Fault injection: this file kills its Redis, so it always runs its own server.
const own = useOwnRedisServer();

const children = useChildren();
const RPC_TIMEOUT_MS = 1_000;

describe('Redis killed (SIGKILL) and restarted empty while setSync writes flow', () => {
  // How long Redis stays down (the injected fault): shorter, then longer than the RPC timeout.
  it.each([500, 3_000])(
    'down %i ms: every node reconnects, the state is restored from the members, the cluster converges, and no acknowledged write is lost',
    async (outageMs) => {
      const ns = freshNamespace('fault-redis');
      const nodes = await children.cluster(['a', 'b', 'c'], {
        redis: own().url,
        namespace: ns,
        rpcTimeoutMs: RPC_TIMEOUT_MS,
        gossipIntervalMs: 500,
      });
      const { others } = await leaderOf(nodes);
      // A non-leader writes (no different from the leader in v2: one commit script either way).
      const writer = others[0]!;
      const loop = WriteLoop.start((n) => writer.call('setSync', n, { timeoutMs: 2_000 }));
      const probe = new Redis(own().url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
      probe.on('error', () => undefined);
      const keys = new Keys(ns, true);
      const snapshotKeys = nodes.map((n) => keys.snapshot(n.id));
      try {
        await loop.waitForAcks(10, 15_000);
        // Nobody writes this key again: its absence proves the restarted Redis is empty.
        await probe.set(`${ns}:sentinel`, '1');
        expect(await probe.exists(...snapshotKeys)).toBe(3);

        const killedAt = now();
        const inFlightAtKill = loop.inFlight;
        await own().kill();
        await new Promise((r) => setTimeout(r, outageMs));
        await own().restart();
        const restartedAt = now();
        expect(await probe.exists(`${ns}:sentinel`)).toBe(0);

        // Every node key comes back by itself (each node's next tick).
        await eventually(async () => (await probe.exists(...snapshotKeys)) === 3, 15_000, 'the three node keys');
        const snapshotsBackMs = now() - restartedAt;
        // And resubscribes: one listener on each node's channel.
        await eventually(
          async () => {
            const reply = (await probe.call('PUBSUB', 'NUMSUB', ...nodes.map((n) => keys.node(n.id)))) as Array<string | number>;
            return nodes.every((_, i) => Number(reply[2 * i + 1]) === 1);
          },
          15_000,
          'every node subscribed again',
        );
        // Writes flow again: acknowledged ones, sent after the restart.
        await loop.waitForAcks(5, 20_000, restartedAt);
        const firstAckAfter = loop.acked.find((a) => a.sentAt > killedAt && a.ackedAt > restartedAt)!;
        await loop.stop();

        const lastAcked = loop.lastAcked!.seq;
        const view = await converged(nodes, 15_000);
        // The one writer wrote increasing values: the cluster holds the last acknowledged one, or a
        // later write that was applied but not confirmed everywhere in time.
        expect(view.data).toBeGreaterThanOrEqual(lastAcked);
        expect(view.data).toBeLessThanOrEqual(loop.sent);
        const ackedBeforeCrash = Math.max(...loop.acked.filter((a) => a.ackedAt < killedAt).map((a) => a.seq));
        expect(view.data).toBeGreaterThanOrEqual(ackedBeforeCrash);
        expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);

        // The state in Redis is the converged one, and each node key points at it.
        expect(await probe.hget(keys.cluster(view.cluster), 'v')).toBe(String(view.version));
        // (Compared with the state in Redis at each look: a late member's report of lost commits may move the version on.)
        await eventually(
          async () => {
            const current = Number(await probe.hget(keys.cluster(view.cluster), 'v'));
            const stored = await Promise.all(snapshotKeys.map((k) => probe.hmget(k, 'c', 'v')));
            return current >= view.version && stored.every(([c, v]) => c === view.cluster && Number(v) === current);
          },
          10_000,
          'every node key at the cluster’s version',
        ).catch(async (err: unknown) => {
          const stored = await Promise.all(snapshotKeys.map((k) => probe.hgetall(k)));
          throw new Error(`${(err as Error).message}: cluster at ${await probe.hget(keys.cluster(view.cluster), 'v')}, node keys ${JSON.stringify(stored)}`);
        });

        reportFault('redis-killed', {
          outageMs,
          inFlightAtKill,
          writesSent: loop.sent,
          acknowledged: loop.acked.length,
          failed: loop.failureCodes(),
          snapshotsBackMsAfterRestart: Math.round(snapshotsBackMs),
          firstAckMsAfterRestart: Math.round(firstAckAfter.ackedAt - restartedAt),
          lastAcknowledged: lastAcked,
          converged: { version: view.version, data: view.data, leader: view.leader },
        });
      } finally {
        await loop.stop();
        probe.disconnect();
      }
    },
    90_000,
  );
});
