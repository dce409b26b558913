/**
 * When Redis loses data (DESIGN §1): restarted empty, the live members
 * write the newest state they hold back; a promoted replica that missed
 * commits (simulated: an older DUMP of the cluster's hash RESTOREd over it)
 * makes the members report the lost versions and adopt Redis's state, their
 * subscribers' versions never going down. This file kills and rewrites its
 * Redis, so it runs its own redis-server.
 */
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseStored } from '../../lib/node/store.js';
import { converged, useChildren } from '../support/child.js';
import type { ChildNode, SpawnOptions, WriteAck } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { ErrorWatch } from '../support/digests.js';
import { keysOf } from '../support/keys.js';
import { freshNamespace, useOwnRedisServer } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now, WriteLoop } from '../support/write-loop.js';

const own = useOwnRedisServer();
const children = useChildren();

const GOSSIP_INTERVAL_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probe(): Redis {
  const r = new Redis(own().url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
  r.on('error', () => undefined);
  return r;
}

/** Acknowledged writes (`<id>-<seq>` = seq) missing from `data`. */
function missing(data: Record<string, unknown>, loops: ReadonlyArray<{ id: string; loop: WriteLoop<unknown> }>): string[] {
  return loops.flatMap(({ id, loop }) => loop.acked.filter((a) => data[`${id}-${a.seq}`] !== a.seq).map((a) => `${id}-${a.seq}`));
}

/** Every version a child's subscribers see ('rumor' events), in order. */
async function versionsSeen(child: ChildNode): Promise<number[]> {
  const seen: number[] = [];
  child.onEvent((line) => {
    if (line.event === 'version') seen.push(line.version as number);
  });
  await child.call('watchVersions');
  return seen;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const goingDown = (seen: readonly number[]) => seen.filter((v, i) => i > 0 && v <= seen[i - 1]!);

describe('Redis restarted empty', () => {
  it.each(['manual', 'auto'] as const)(
    "while a member that held nothing newer is down (join '%s'): the live members restore the state, the down one restarts into it, nothing acknowledged is lost",
    (join) => restartedEmptyWithAMemberDown(join, false),
    120_000,
  );

  it.each(['manual', 'auto'] as const)(
    "the down member restarts into the restored state while the others keep writing (join '%s', its link slow)",
    (join) => restartedEmptyWithAMemberDown(join, true),
    120_000,
  );
});

/**
 * a, b, c in one cluster; a and b write (ledgers), c writes a little, then is SIGKILLed; a and b write on, Redis is
 * killed and restarted empty; a and b restore it, then c restarts (with `whileWriting`: through a slow link while
 * a and b keep writing; otherwise after they stopped).
 */
async function restartedEmptyWithAMemberDown(join: 'manual' | 'auto', whileWriting: boolean): Promise<void> {
  const ns = freshNamespace(`lost-all-${join}`);
  const base: Omit<SpawnOptions, 'nodeId'> = { redis: own().url, namespace: ns, rpcTimeoutMs: 1_000, gossipIntervalMs: GOSSIP_INTERVAL_MS, options: { join } };
  const nodes = await children.cluster(['a', 'b', 'c'], base);
  const [a, b, c] = nodes as [ChildNode, ChildNode, ChildNode];
  const p = probe();
  const keys = keysOf(ns);
  try {
    const loops = [a, b].map((n) => ({ id: n.id, loop: WriteLoop.start((s) => n.call<WriteAck>('setCfg', `${n.id}-${s}`, s), { pauseMs: 20 }) }));
    // c writes too before it goes: its writes must survive as well.
    const cAcked: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await c.call('setCfg', `c-${i}`, i);
      cAcked.push(`c-${i}`);
    }
    await Promise.all(loops.map(({ loop }) => loop.waitForAcks(5, 10_000)));
    c.kill('SIGKILL');
    await c.exited;
    // The others move on: c holds nothing newer than they do.
    const downAt = now();
    await Promise.all(loops.map(({ loop }) => loop.waitForAcks(5, 10_000, downAt)));

    await p.set(`${ns}:sentinel`, '1');
    await own().kill();
    await sleep(300);
    await own().restart();
    const restartedAt = now();
    expect(await p.exists(`${ns}:sentinel`)).toBe(0);

    // Writes flow again, and the cluster's hash is back, with every member listed.
    await Promise.all(loops.map(({ loop }) => loop.waitForAcks(5, 20_000, restartedAt)));
    const cluster = await a.call<string>('cluster');
    await eventually(async () => (await p.hget(keys.cluster(cluster), 'nodes'))?.split(' ').sort().join(' ') === 'a b c', 15_000, 'the state restored');

    // c restarts: into its cluster, with the newest state.
    let c2: ChildNode;
    if (whileWriting) {
      const slow = await FaultProxy.start(own().url);
      onTestFinished(() => slow.close());
      slow.setMode('delay', 150);
      c2 = await children.spawn({ ...base, nodeId: 'c', redis: slow.url });
      slow.setMode('pass');
      await Promise.all(loops.map(({ loop }) => loop.stop()));
    } else {
      await Promise.all(loops.map(({ loop }) => loop.stop()));
      c2 = await children.spawn({ ...base, nodeId: 'c' });
    }
    const all = [a, b, c2];
    const view = await converged(all, 20_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}; c2 is in ${String(await c2.call('cluster'))} with ${JSON.stringify(await c2.call('nodes'))}, the others in ${cluster}`);
    });
    expect(view.cluster).toBe(cluster);
    expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);
    const data = view.data as Record<string, unknown>;
    expect(missing(data, loops)).toEqual([]);
    expect(cAcked.filter((k) => data[k] !== Number(k.slice(2)))).toEqual([]);
    expect(loops.flatMap(({ loop }) => loop.failed)).toEqual([]);
    // status is healthy everywhere, and Redis holds what the members hold.
    for (const n of all) await eventually(async () => (await n.call<{ ok: boolean }>('status')).ok, 10_000, `status ok on ${n.id}`);
    const stored = parseStored<Record<string, unknown>>(cluster, await p.hgetall(keys.cluster(cluster)), undefined)!;
    expect(stored.state.version).toBe(view.version);
    expect(stored.state.data).toEqual(view.data);
    reportFault('redis-restarted-member-down', {
      join,
      whileWriting,
      acked: Object.fromEntries(loops.map(({ id, loop }) => [id, loop.acked.length])),
      failed: loops.map(({ loop }) => loop.failureCodes()),
      finalVersion: view.version,
    });
  } finally {
    p.disconnect();
  }
}

describe('a promoted replica that missed commits (an older copy of the cluster’s hash put back)', () => {
  /**
   * a, b, c; five config keys written (kept-*), the cluster's hash DUMPed (the replica's copy), five more
   * (lost-*), then the copy RESTOREd over it (the failover), and at once a write from b ('after-failover').
   */
  async function failover() {
    const ns = freshNamespace('lost-some');
    const nodes = await children.cluster(['a', 'b', 'c'], { redis: own().url, namespace: ns, rpcTimeoutMs: 1_000, gossipIntervalMs: GOSSIP_INTERVAL_MS });
    const [a, b] = nodes as [ChildNode, ChildNode, ChildNode];
    const seen = await Promise.all(nodes.map(versionsSeen));
    const watches = await Promise.all(nodes.map((n) => ErrorWatch.on(n)));
    const p = probe();
    const keys = keysOf(ns);
    for (let i = 1; i <= 5; i++) await a.call('setCfg', `kept-${i}`, i);
    const kept = await converged(nodes, 10_000);
    const key = keys.cluster(kept.cluster);
    // The replica's copy: everything up to here.
    const dump = await p.dumpBuffer(key);
    expect(dump).not.toBeNull();
    // Commits the replica misses.
    for (let i = 1; i <= 5; i++) await b.call('setCfg', `lost-${i}`, i);
    const ahead = await converged(nodes, 10_000);
    expect(ahead.version).toBe(kept.version + 5);
    // Failover: Redis now holds the older state.
    await p.restore(key, 0, dump, 'REPLACE');
    expect(await p.hget(key, 'v')).toBe(String(kept.version));
    // A write made at once, before any member noticed: acknowledged after the failover, so it must stay.
    await b.call('setCfg', 'after-failover', true);
    return { nodes, a, b, seen, watches, p, key, kept, ahead };
  }

  it("the members report on 'error' which versions Redis no longer holds (lost_commits)", async () => {
    const { nodes, seen, watches, p, kept, ahead } = await failover();
    try {
      await eventually(() => watches.every((w) => w.count('lost_commits') > 0), 10_000, 'lost_commits on every member');
      // It names the cluster and the lost versions, up to the last one the members held.
      for (const w of watches) expect(w.messages.find((m) => m.startsWith('lost_commits'))).toMatch(new RegExp(`versions \\d+–${ahead.version} of cluster ${escape(kept.cluster)}`));
      expect(nodes.every((n) => n.exit === undefined)).toBe(true);
      expect(seen.map(goingDown)).toEqual([[], [], []]);
    } finally {
      p.disconnect();
    }
  }, 60_000);

  it('the report names every lost version, from the first one whose commit Redis does not hold', async () => {
    const { watches, p, kept, ahead } = await failover();
    try {
      await eventually(() => watches.every((w) => w.count('lost_commits') > 0), 10_000, 'lost_commits on every member');
      for (const w of watches) expect(w.messages.find((m) => m.startsWith('lost_commits'))).toContain(`versions ${kept.version + 1}–${ahead.version}`);
    } finally {
      p.disconnect();
    }
  }, 60_000);

  it("the members adopt Redis's state at a version above what they held, their subscribers' versions never go down, and writes after the failover are kept", async () => {
    const { nodes, a, seen, watches, p, key, ahead } = await failover();
    try {
      await eventually(() => watches.every((w) => w.count('lost_commits') > 0), 10_000, 'lost_commits on every member');
      // They go on from Redis's state (the lost keys are gone, the kept and later ones are there), at a version above what they held.
      const view = await converged(nodes, 15_000);
      expect(view.version).toBeGreaterThan(ahead.version);
      const data = view.data as Record<string, unknown>;
      expect(Object.keys(data).filter((k) => k.startsWith('kept-')).length).toBe(5);
      expect(Object.keys(data).filter((k) => k.startsWith('lost-'))).toEqual([]);
      expect(data['after-failover']).toBe(true);
      const stored = parseStored<Record<string, unknown>>(view.cluster, await p.hgetall(key), undefined)!;
      expect(stored.state.version).toBe(view.version);
      expect(stored.state.data).toEqual(view.data);

      // A write after that reaches everyone.
      await a.call('setCfgSync', 'later', 1, { timeoutMs: 5_000 });
      for (const n of nodes) expect(await n.call('getCfg', 'later')).toBe(1);
      // The reports stop: the members agree with Redis again.
      const counts = watches.map((w) => w.count('lost_commits'));
      await sleep(4 * GOSSIP_INTERVAL_MS);
      expect(watches.map((w) => w.count('lost_commits'))).toEqual(counts);
      // No subscriber ever saw its version go down.
      expect(seen.map(goingDown)).toEqual([[], [], []]);
      reportFault('replica-missed-commits', {
        aheadVersion: ahead.version,
        finalVersion: view.version,
        reports: Object.fromEntries(watches.map((w) => [w.child.id, w.count('lost_commits')])),
      });
    } finally {
      p.disconnect();
    }
  }, 90_000);
});
