import { describe, expect, it } from 'vitest';
import { converged, leaderOf, useChildren } from '../support/child.js';
import type { ChildNode, WriteAck } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now, WriteLoop } from '../support/write-loop.js';

const redis = useRedis();
const children = useChildren();

const RPC_TIMEOUT_MS = 1_000;

interface Writer {
  readonly node: ChildNode;
  readonly loop: WriteLoop<WriteAck>;
}

/**
 * Three node processes; each non-leader writes one config key per write
 * (`setCfg`: one commit script, acknowledged once applied) as fast as it
 * can, each keeping a ledger.
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

/** Every acknowledged write of every writer, by the key it wrote, missing from `data`. */
function missingFrom(data: Record<string, unknown>, writers: readonly Writer[]): string[] {
  return writers.flatMap(({ node, loop }) => loop.acked.filter((a) => data[`${node.id}-${a.seq}`] !== a.seq).map((a) => `${node.id}-${a.seq}`));
}

/** The longest wait between two acknowledgements of one writer, from `since` on. */
function longestStall(writers: readonly Writer[], since: number): number {
  return Math.max(...writers.map(({ loop }) => longestGap([since, ...loop.ackedSince(since).map((a) => a.ackedAt)])));
}

describe('the leader killed or frozen during a stream of writes from the others', () => {
  // No leader is in the write path: a writer never waits for a failover.
  it.each(['SIGKILL', 'SIGSTOP'] as const)(
    '%s: writes go on without a stall, a new leader takes the housekeeping, and every acknowledged write survives',
    async (signal) => {
      const { leader, writers } = await writingFollowers(`fault-leader-${signal}`);
      try {
        const hitAt = now();
        leader.kill(signal);
        if (signal === 'SIGKILL') expect(await leader.exited).toMatchObject({ signal: 'SIGKILL' });
        // Writes go on: 200 more acknowledged, sent after the signal.
        await eventuallyAcked(writers, 200, hitAt);
        // The survivors choose another leader (no listener, or no refreshed node key for 3 gossip periods).
        await eventually(async () => (await writers[0]!.node.call<string>('leader')) !== leader.id, 10_000, 'a new leader');
        await stopAll(writers);
        const stallMs = longestStall(writers, hitAt);
        // Far below the old lease (3 s), whatever the machine's load: nothing waits for the dead leader.
        expect(stallMs).toBeLessThan(RPC_TIMEOUT_MS);

        const view = await converged(
          writers.map((w) => w.node),
          15_000,
        );
        expect(view.leader).not.toBe(leader.id);
        expect(missingFrom(view.data as Record<string, unknown>, writers)).toEqual([]);
        expect(writers.map(({ loop }) => loop.failureCodes())).toEqual(writers.map(() => ({})));

        if (signal === 'SIGSTOP') {
          // Resumed, the old leader catches up and writes like any member; nothing acknowledged is lost.
          leader.kill('SIGCONT');
          await leader.call('setCfg', 'after-resume', true);
          const all = await converged([leader, ...writers.map((w) => w.node)], 15_000);
          expect((all.data as Record<string, unknown>)['after-resume']).toBe(true);
          expect(missingFrom(all.data as Record<string, unknown>, writers)).toEqual([]);
        }

        reportFault(`leader-${signal}`, {
          longestStallMs: Math.round(stallMs),
          newLeader: view.leader,
          writers: writers.map(({ node, loop }) => ({ id: node.id, acked: loop.acked.length, failed: loop.failureCodes() })),
          finalVersion: view.version,
        });
      } finally {
        await stopAll(writers);
      }
    },
    90_000,
  );
});

async function eventuallyAcked(writers: readonly Writer[], count: number, since: number): Promise<void> {
  await eventually(() => writers.reduce((n, { loop }) => n + loop.ackedSince(since).length, 0) >= count, 20_000, `${count} writes acknowledged after the kill`);
}

function longestGap(times: number[]): number {
  const sorted = [...times].sort((x, y) => x - y);
  let gap = 0;
  for (let i = 1; i < sorted.length; i++) gap = Math.max(gap, sorted[i]! - sorted[i - 1]!);
  return gap;
}
