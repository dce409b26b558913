/**
 * A node whose clock is 2 minutes off (issue 10: in v1 it never joined — a
 * silent split — or, when its clock stepped after joining, made setSync fail
 * cluster-wide: the replay window used each sender's wall clock). v2
 * compares only Redis's clock, which each node measures against TIME.
 * The child's Date.now() is shifted (node-process.ts `clockOffsetMs`,
 * `clockOffset`); performance.now() and Redis's clock are not.
 */
import { describe, expect, it } from 'vitest';
import { converged, useChildren } from '../support/child.js';
import type { ChildNode, SpawnOptions } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { CountLedger } from '../support/count-ledger.js';
import type { Counted } from '../support/node-extras.js';
import { freshNamespace, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';

const redis = useRedis();
const children = useChildren();

const GOSSIP_INTERVAL_MS = 500;
const SKEW_MS = 2 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function spec(namespace: string, nodeId: string, extra: Partial<SpawnOptions> = {}): SpawnOptions {
  return { redis: redis(), namespace, nodeId, rpcTimeoutMs: 1_000, gossipIntervalMs: GOSSIP_INTERVAL_MS, statusTimeoutMs: 1_000, ...extra };
}

/** The child's clock really is `skew` off ours (within a few seconds). */
async function expectSkewed(child: ChildNode, skew: number): Promise<void> {
  const off = (await child.call<number>('now')) - Date.now();
  expect(Math.abs(off - skew)).toBeLessThan(5_000);
}

/** The skewed node writes, is written to, answers status and setSync, and its own setSync is answered. */
async function worksAsAMember(nodes: readonly ChildNode[], skewed: ChildNode, tag: string): Promise<void> {
  const others = nodes.filter((n) => n !== skewed);
  await skewed.call('setCfg', `by-skewed-${tag}`, 1);
  await eventually(async () => (await Promise.all(others.map((n) => n.call('getCfg', `by-skewed-${tag}`)))).every((v) => v === 1), 10_000, 'its write on the others');
  // Others' setSync waits for the skewed node's answer; it comes.
  for (const n of others) await n.call('setCfgSync', `by-${n.id}-${tag}`, 2, { timeoutMs: 5_000 });
  expect(await skewed.call('getCfg', `by-${others[0]!.id}-${tag}`)).toBe(2);
  // Its own setSync is answered by the others.
  await skewed.call('setCfgSync', `sync-by-skewed-${tag}`, 3, { timeoutMs: 5_000 });
  for (const n of others) expect(await n.call('getCfg', `sync-by-skewed-${tag}`)).toBe(3);
  // status, asked by anyone (the skewed node included), is healthy.
  for (const n of nodes) expect(await n.call('status')).toMatchObject({ ok: true });
}

describe('a node whose clock is 2 minutes off', () => {
  it.each([
    ['ahead', SKEW_MS],
    ['behind', -SKEW_MS],
  ] as const)(
    '%s: joins a cluster (manual join), writes, answers status and setSync, and its setSync is answered; the later write by Redis’s clock wins a merge',
    async (_label, skew) => {
      const ns = freshNamespace('skew-manual');
      const a = await children.spawn(spec(ns, 'a'));
      const b = await children.spawn(spec(ns, 'b'));
      await a.call('join', 'b');
      const c = await children.spawn(spec(ns, 'c', { clockOffsetMs: skew }));
      await expectSkewed(c, skew);
      // Before the join, both sides write one key; the one written later in real time must win, whatever c's clock says.
      // Ahead, c writes first (its clock would call its write the later); behind, c writes last (its clock would call it the earlier).
      const writes = [() => c.call('setCfg', 'shared', 'from c'), () => a.call('setCfg', 'shared', 'from a')];
      if (skew < 0) writes.reverse();
      await writes[0]!();
      await sleep(20);
      await writes[1]!();
      const later = skew > 0 ? 'from a' : 'from c';

      await a.call('join', 'c');
      const nodes = [a, b, c];
      const view = await converged(nodes, 15_000);
      expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);
      expect((view.data as Record<string, unknown>).shared).toBe(later);
      await worksAsAMember(nodes, c, 'manual');
    },
    90_000,
  );

  it.each([
    ['ahead', SKEW_MS],
    ['behind', -SKEW_MS],
  ] as const)(
    "%s: with join 'auto' it is discovered and discovers: one cluster, and it works as a member",
    async (_label, skew) => {
      const ns = freshNamespace('skew-auto');
      const auto = { options: { join: 'auto' as const } };
      const a = await children.spawn(spec(ns, 'a', auto));
      const b = await children.spawn(spec(ns, 'b', auto));
      // The skewed node starts between the others and last.
      const c = await children.spawn(spec(ns, 'c', { ...auto, clockOffsetMs: skew }));
      await expectSkewed(c, skew);
      const d = await children.spawn(spec(ns, 'd', auto));
      const nodes = [a, b, c, d];
      const view = await converged(nodes, 20_000);
      expect([...view.nodes].sort()).toEqual(['a', 'b', 'c', 'd']);
      await worksAsAMember(nodes, c, 'auto');
    },
    90_000,
  );

  it('whose clock steps 2 minutes (either way, and back) after it joined: its writes right after a step resolve and are applied once, and setSync works both ways again within a few gossip periods', async () => {
    const ns = freshNamespace('skew-step');
    const nodes = await children.cluster(['a', 'b', 'c'], spec(ns, 'x'));
    const c = nodes[2]!;
    const ledger = new CountLedger();
    for (let i = 0; i < 3; i++) await ledger.call(c);
    // Each step, then either writes at once (before any tick has measured the new offset) or setSync at once.
    const steps = [
      ['2 min ahead, writes first', SKEW_MS, 'writes'],
      ['back to true time, setSync first', 0, 'setSync'],
      ['2 min behind, setSync first', -SKEW_MS, 'setSync'],
      ['back to true time, writes first', 0, 'writes'],
    ] as const;
    for (const [step, offset, first] of steps) {
      expect(await c.call('clockOffset', offset)).toBe(offset);
      await expectSkewed(c, offset);
      const steppedAt = Date.now();
      const writes = async () => {
        // Writes from the stepped node and to it: each resolves, applied once.
        const outcomes = await Promise.all([ledger.call(c, {}, `c-${step}`), ledger.call(c, {}, `c-${step}`), ledger.call(nodes[0]!, {}, `a-${step}`)]);
        expect(outcomes.map((o) => [o.tag, o.ok, o.code])).toEqual(outcomes.map((o) => [o.tag, true, undefined]));
      };
      // setSync both ways works again within a few gossip periods (a tick measures the new offset).
      const setSyncs = () =>
        eventually(
          async () => {
            await nodes[0]!.call('setCfgSync', `after-${step}`, 1, { timeoutMs: 2_000 });
            await c.call('setCfgSync', `c-after-${step}`, 1, { timeoutMs: 2_000 });
          },
          6 * GOSSIP_INTERVAL_MS + 10_000,
          `setSync both ways after the step (${step})`,
        );
      if (first === 'writes') {
        await writes();
        await setSyncs();
      } else {
        await setSyncs();
        await writes();
      }
      reportFault('clock-step', { step, setSyncBackMs: Date.now() - steppedAt });
      // Stay stepped for a while: nothing breaks on later ticks.
      await sleep(2 * GOSSIP_INTERVAL_MS);
      for (const n of nodes) expect(await n.call('status')).toMatchObject({ ok: true });
    }
    await ledger.settle();
    const view = await converged(nodes, 15_000);
    const audit = ledger.audit(view.data as Counted);
    expect({ lost: audit.lost, twice: audit.twice, rejectedButApplied: audit.rejectedButApplied, nMinusCalls: audit.nMinusCalls }).toEqual({
      lost: [],
      twice: [],
      rejectedButApplied: [],
      nMinusCalls: 0,
    });
  }, 120_000);
});
