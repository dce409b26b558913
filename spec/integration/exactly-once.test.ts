/**
 * An updater's call is applied exactly once (issue 10: v1 applied it twice
 * when the caller stalled past rpcTimeoutMs, or when its answer was lost and
 * the retry conflicted and re-ran it). Every call is a counting updater
 * `{n: n + 1, tags: [...tags, tag]}` with a tag of its own; at the end the
 * data must hold each resolved call's tag exactly once, no rejected call's
 * tag, and n must equal the number of tags.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { parseStored } from '../../lib/node/store.js';
import { converged, useChildren } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { CountLedger } from '../support/count-ledger.js';
import type { CountAudit } from '../support/count-ledger.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { keysOf, readClusterHash } from '../support/keys.js';
import type { Counted } from '../support/node-extras.js';
import { freshNamespace, useClients, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';

const redis = useRedis();
const children = useChildren();
const client = useClients(redis);

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const RPC_TIMEOUT_MS = 500;
const GOSSIP_INTERVAL_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every call exactly once: nothing lost, nothing twice, no rejection that was applied, n = calls applied. */
function expectExactlyOnce(audit: CountAudit): void {
  expect({
    lost: audit.lost,
    twice: audit.twice,
    rejectedButApplied: audit.rejectedButApplied,
    unknown: audit.unknown,
    nMinusTags: audit.nMinusTags,
    nMinusCalls: audit.nMinusCalls,
  }).toEqual({ lost: [], twice: [], rejectedButApplied: [], unknown: [], nMinusTags: 0, nMinusCalls: 0 });
}

/** Waits until every node holds the version and data of the cluster's state in Redis. */
async function sameAsRedis(nodes: Parameters<typeof converged>[0], ns: string, cluster: string): Promise<void> {
  const probe = client();
  await eventually(
    async () => {
      const view = await converged(nodes, 5_000);
      const hash = await readClusterHash(probe, ns, cluster);
      expect(hash.v).toBe(String(view.version));
      expect(parseStored<Counted>(cluster, hash, undefined)!.state.data).toEqual(view.data);
    },
    15_000,
    'every node at the state in Redis',
  );
}

describe('an updater call is applied exactly once', () => {
  it('when its caller’s event loop stalls past rpcTimeoutMs right after set(updater), while another member’s updaters conflict with it (6 rounds)', async () => {
    const ns = freshNamespace('once-stall');
    const nodes = await children.cluster(['a', 'b', 'c'], { redis: redis(), namespace: ns, rpcTimeoutMs: RPC_TIMEOUT_MS, gossipIntervalMs: GOSSIP_INTERVAL_MS });
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const ledger = new CountLedger();
    const stallMs = 3 * RPC_TIMEOUT_MS;
    for (let round = 0; round < 6; round++) {
      // Even rounds: the stall starts before the call yields (its commit already written to the socket);
      // odd rounds: a few ms later, while the commit's answer (or a conflict) is on its way back.
      const stallAfterMs = round % 2 === 0 ? 0 : 1 + round;
      const stalled = ledger.call(a, { stallMs, stallAfterMs });
      // Meanwhile b's updaters move the version on: a's compare-and-set meets a newer state.
      const racing = Array.from({ length: 3 }, () => ledger.call(b));
      await Promise.all([stalled, ...racing]);
      // a's next call right after the stall, on whatever it holds by then.
      await ledger.call(a);
    }
    await ledger.settle();
    expect(ledger.calls).toBe(6 * 5);

    const view = await converged(nodes, 15_000);
    const audit = ledger.audit(view.data as Counted);
    reportFault('exactly-once-stall', { calls: ledger.calls, ...audit, failed: ledger.failureCodes() });
    expectExactlyOnce(audit);
    // Every call resolved: a stall is no reason to fail a write.
    expect(ledger.failureCodes()).toEqual({});
    // Redis holds the same count (and the nodes its version: a new leader, chosen while a was stalled, may commit after the first look).
    await sameAsRedis(nodes, ns, view.cluster);
  }, 120_000);

  it('when its answer is lost: the writer’s link to Redis is slowed, then dropped with commits in flight, then restored; the retry is answered by the write-id record (20+ calls)', async () => {
    const ns = freshNamespace('once-lost');
    proxy = await FaultProxy.start(redis());
    const nodes = await children.cluster(['a', 'b', 'w'], { redis: redis(), namespace: ns, rpcTimeoutMs: 1_000, gossipIntervalMs: GOSSIP_INTERVAL_MS }, { w: { redis: proxy.url } });
    const w = nodes.find((n) => n.id === 'w')!;
    const b = nodes.find((n) => n.id === 'b')!;
    // Redis's MONITOR shows every commit script as it runs (EVALSHA, or EVAL on a fresh connection), with its write
    // record's key: one that runs twice was retried.
    const monitor = await new Redis(redis()).monitor();
    onTestFinished(() => monitor.disconnect());
    const runs = new Map<string, number>();
    const recordPrefix = keysOf(ns).write('');
    /** Who waits for the next commit script that a writer sent to run in Redis. */
    const waiting = new Map<string, () => void>();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (!/^eval(sha)?$/i.test(args[0] ?? '')) return;
      const record = args.slice(3).find((a) => a.startsWith(recordPrefix));
      if (!record) return;
      runs.set(record, (runs.get(record) ?? 0) + 1);
      // KEYS, then ARGV: the writer's id is ARGV[4].
      const writer = args[3 + Number(args[2]) + 3]!;
      waiting.get(writer)?.();
    });
    const commitOf = (writer: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no commit by ${writer} ran within 10 s`)), 10_000);
        waiting.set(writer, () => {
          clearTimeout(timer);
          waiting.delete(writer);
          resolve();
        });
      });
    const ledger = new CountLedger();
    const DELAY_MS = 300;
    let inFlightAtDrop = 0;
    let severed = 0;
    for (let round = 0; round < 5; round++) {
      proxy.setMode('delay', DELAY_MS);
      const calls: Promise<unknown>[] = [];
      // w's next commit runs in Redis: its answer is on its way back through the slow link…
      const ran = commitOf('w');
      for (let i = 0; i < 3; i++) calls.push(ledger.call(w));
      await ran;
      // …and is lost: the link drops now, with the commit applied and unanswered.
      inFlightAtDrop += ledger.inFlight;
      const before = proxy.counts.severed;
      proxy.setMode('drop');
      severed += proxy.counts.severed - before;
      // While w is cut off, b moves the version on: an updater of w's that ran again would meet a newer state.
      for (let i = 0; i < 2; i++) calls.push(ledger.call(b), ledger.call(w));
      await sleep(800);
      proxy.setMode('pass');
      for (let i = 0; i < 2; i++) calls.push(ledger.call(w));
      await Promise.all(calls);
    }
    await ledger.settle();
    expect(ledger.outcomes.filter((o) => o.node === 'w').length).toBeGreaterThanOrEqual(20);
    // The fault hit: connections with unanswered commits were cut.
    expect(severed).toBeGreaterThan(0);
    expect(inFlightAtDrop).toBeGreaterThan(0);

    monitor.disconnect();
    // Some commits ran twice (their answer lost, the call resent with its write id), and the first run had applied
    // them (their record is there): the second was answered from the record, not applied again.
    const retried = [...runs].filter(([, k]) => k > 1).map(([key]) => key);
    const retriedApplied = (await Promise.all(retried.map(async (key) => ((await client().exists(key)) === 1 ? key : undefined)))).filter((k) => k !== undefined);
    expect(retriedApplied.length).toBeGreaterThan(0);

    const view = await converged(nodes, 20_000);
    const audit = ledger.audit(view.data as Counted);
    reportFault('exactly-once-lost-answer', {
      calls: ledger.calls,
      inFlightAtDrop,
      severed,
      commitsRun: runs.size,
      retried: retried.length,
      retriedApplied: retriedApplied.length,
      ...audit,
      failed: ledger.failureCodes(),
      proxy: proxy.counts,
    });
    expectExactlyOnce(audit);
    // An outage shorter than the retry window fails no call.
    expect(ledger.failureCodes()).toEqual({});
    await sameAsRedis(nodes, ns, view.cluster);
  }, 180_000);
});
