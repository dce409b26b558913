import { describe, expect, it } from 'vitest';
import { converged, leaderOf, useChildren } from '../support/child.js';
import type { ChildNode, WriteAck } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now, WriteLoop } from '../support/write-loop.js';
import type { Acked } from '../support/write-loop.js';

const redis = useRedis();
const children = useChildren();

const RPC_TIMEOUT_MS = 1_000;

interface Writer {
  readonly node: ChildNode;
  readonly loop: WriteLoop<WriteAck>;
}

/**
 * Three node processes; each non-leader writes one config key per write
 * (`setCfg`: an updater through the leader, acknowledged once applied, not
 * waiting for propagation) as fast as it can, each keeping a ledger.
 */
async function writingFollowers(label: string): Promise<{ leader: ChildNode; writers: Writer[] }> {
  const nodes = await children.cluster(['a', 'b', 'c'], {
    redis: redis(),
    namespace: freshNamespace(label),
    rpcTimeoutMs: RPC_TIMEOUT_MS,
    gossipIntervalMs: 500,
  });
  const { leader, others } = await leaderOf(nodes);
  const writers = others.map((node) => ({ node, loop: WriteLoop.start((n) => node.call<WriteAck>('setCfg', `${node.id}-${n}`, n)) }));
  await Promise.all(writers.map(({ loop }) => loop.waitForAcks(10, 15_000)));
  return { leader, writers };
}

async function stopAll(writers: readonly Writer[]): Promise<void> {
  await Promise.all(writers.map(({ loop }) => loop.stop()));
}

/** The first write acknowledged after `after` by another leader than `dead`. */
function firstAckWithout(writers: readonly Writer[], dead: string, after: number): Acked<WriteAck> {
  const acks = writers.flatMap(({ loop }) => loop.acked.filter((a) => a.ackedAt > after && a.answer.leader !== dead));
  const first = acks.sort((x, y) => x.ackedAt - y.ackedAt)[0];
  if (!first) throw new Error(`no write acknowledged without ${dead}`);
  return first;
}

describe('the leader killed with SIGKILL during a stream of writes from the others', () => {
  it('a new leader takes writes within 2 × rpcTimeoutMs, and every acknowledged write survives', async () => {
    const { leader, writers } = await writingFollowers('fault-leader');
    try {
      const killedAt = now();
      leader.kill('SIGKILL');
      expect(await leader.exited).toMatchObject({ signal: 'SIGKILL' });
      // Writes go on: 20 more acknowledged, sent after the kill.
      await eventuallyAcked(writers, 20, killedAt);
      await stopAll(writers);

      const failoverMs = firstAckWithout(writers, leader.id, killedAt).ackedAt - killedAt;
      expect(failoverMs).toBeLessThan(2 * RPC_TIMEOUT_MS);

      const view = await converged(writers.map((w) => w.node), 15_000);
      expect(view.leader).not.toBe(leader.id);
      const data = view.data as Record<string, unknown>;
      const missing = writers.flatMap(({ node, loop }) =>
        loop.acked.filter((a) => data[`${node.id}-${a.seq}`] !== a.seq).map((a) => `${node.id}-${a.seq}`),
      );
      expect(missing).toEqual([]);

      reportFault('leader-killed', {
        failoverMs: Math.round(failoverMs),
        newLeader: view.leader,
        writers: writers.map(({ node, loop }) => ({ id: node.id, acked: loop.acked.length, failed: loop.failureCodes() })),
        longestGapBetweenAcksMs: Math.round(longestGap(writers.flatMap(({ loop }) => loop.acked.map((a) => a.ackedAt)))),
        finalVersion: view.version,
      });
    } finally {
      await stopAll(writers);
    }
  }, 90_000);

  // The survivors both write: one becomes the leader and applies its own
  // updaters locally, the other's cross Redis. Each has one write at a time,
  // so a compare-and-set from the follower has one competitor: it should
  // need a retry or two, never exhaust them all.
  it("after the failover, the follower's writes are not starved by the new leader's own writes", async () => {
    const { leader, writers } = await writingFollowers('fault-starve');
    try {
      const killedAt = now();
      leader.kill('SIGKILL');
      await leader.exited;
      await eventuallyAcked(writers, 1, killedAt);
      const first = firstAckWithout(writers, leader.id, killedAt);
      const failoverAt = first.ackedAt;
      const newLeader = first.answer.leader;
      const local = writers.find((w) => w.node.id === newLeader)!;
      const remote = writers.find((w) => w !== local)!;
      // A workload, not a sleep: until the new leader has written 300 times itself.
      await local.loop.waitForAcks(300, 30_000, failoverAt);
      await stopAll(writers);

      const remoteFailed = remote.loop.failed.filter((f) => f.sentAt > failoverAt);
      const remoteAcked = remote.loop.ackedSince(failoverAt);
      reportFault('leader-killed-fairness', {
        newLeader,
        localWritesAcked: local.loop.ackedSince(failoverAt).length,
        remoteWritesAcked: remoteAcked.length,
        remoteWritesFailed: remoteFailed.length,
        remoteFailureCodes: remote.loop.failureCodes(),
      });
      expect(remoteFailed.map((f) => f.code)).toEqual([]);
      expect(remoteAcked.length).toBeGreaterThan(0);
    } finally {
      await stopAll(writers);
    }
  }, 90_000);
});

async function eventuallyAcked(writers: readonly Writer[], count: number, since: number): Promise<void> {
  await eventually(
    () => writers.reduce((n, { loop }) => n + loop.ackedSince(since).length, 0) >= count,
    20_000,
    `${count} writes acknowledged after the kill`,
  );
}

function longestGap(times: number[]): number {
  const sorted = [...times].sort((x, y) => x - y);
  let gap = 0;
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]! - sorted[i - 1]!);
  return gap;
}
