/**
 * Large values (issue 10: with 2–6 MB values in bursts, v1 rejected a third
 * to a half of the writes although all were applied, Redis killed subscriber
 * connections for their output buffer and nothing was reported; a value
 * whose push fitted maxMessageBytes but whose pull answer did not made every
 * node holding it exit on an unguarded send).
 *
 * This file runs a redis-server of its own whose pub/sub clients may buffer
 * at most 1 MB: every multi-megabyte change makes Redis drop the subscriber
 * connections it is published to.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseStored } from '../../lib/node/store.js';
import { useChildren } from '../support/child.js';
import type { ChildNode } from '../support/child.js';
import { eventually } from '../support/cluster.js';
import { digestOf, digestsAgree, ErrorWatch } from '../support/digests.js';
import { keysOf } from '../support/keys.js';
import { freshNamespace, useClients, useOwnRedisServer } from '../support/redis.js';
import { reportFault } from '../support/report.js';

const logDir = mkdtempSync(join(tmpdir(), 'sg-large-values-'));
const LOG = join(logDir, 'redis.log');
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

// Hard limit 1 MB for pub/sub clients, no soft limit: a 2 MB message closes the subscriber at once.
const own = useOwnRedisServer(['--client-output-buffer-limit', 'pubsub 1mb 0 0', '--logfile', LOG, '--loglevel', 'notice']);
const client = useClients(() => own().url);
const children = useChildren();

const MB = 1024 * 1024;
const GOSSIP_INTERVAL_MS = 500;

/** How many clients Redis has closed for their output buffer so far (its log says each). */
function outputBufferDrops(): number {
  let text: string;
  try {
    text = readFileSync(LOG, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((l) => /overcoming of output buffer limits/.test(l)).length;
}

async function expectAllAlive(nodes: readonly ChildNode[], watches: readonly ErrorWatch[]): Promise<void> {
  for (const n of nodes) expect([n.id, n.exit]).toEqual([n.id, undefined]);
  const pids = await Promise.all(nodes.map((n) => n.call<number>('alive')));
  expect(pids).toEqual(nodes.map((n) => n.pid));
  expect(watches.flatMap((w) => w.unhandled)).toEqual([]);
}

describe('values of several megabytes', () => {
  it('in bursts from one writer to 3 members, with Redis dropping the subscribers: no applied write is rejected, every node converges to the last write, and each drop is reported on error (reconnected)', async () => {
    const ns = freshNamespace('large');
    const nodes = await children.cluster(['w', 'm1', 'm2', 'm3'], {
      redis: own().url,
      namespace: ns,
      rpcTimeoutMs: 2_000,
      gossipIntervalMs: GOSSIP_INTERVAL_MS,
      callTimeoutMs: 60_000,
      options: { maxMessageBytes: 16 * MB },
    });
    const writer = nodes[0]!;
    const members = nodes.slice(1);
    const watches = await Promise.all(nodes.map((n) => ErrorWatch.on(n)));
    const dropsBefore = outputBufferDrops();

    const sizes = [2, 6, 3.5, 5, 2.5, 4, 6, 3, 2, 5.5, 4.5, 2];
    const resolved: number[] = [];
    const rejected: Array<{ seq: number; code: string }> = [];
    let seq = 0;
    const write = (mb: number) => {
      const s = ++seq;
      return writer.call<number>('setBlob', 'patch', s, Math.round(mb * MB)).then(
        () => void resolved.push(s),
        (err: unknown) => void rejected.push({ seq: s, code: String((err as { code?: unknown }).code) }),
      );
    };
    // Three bursts of four writes in flight at once.
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(sizes.slice(burst * 4, burst * 4 + 4).map(write));
    }
    // And the last write, alone: every node must end with it.
    await write(3);
    const last = seq;

    const final = await digestsAgree(nodes, 60_000, (d) => (d.data as { last?: number } | undefined)?.last === last);
    const data = final.data as Record<string, unknown>;
    // No write rejected, and every acknowledged one is in the history the data keeps (w<seq> markers).
    expect(rejected).toEqual([]);
    expect(resolved.sort((x, y) => x - y)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    expect(resolved.filter((s) => data[`w${s}`] !== s)).toEqual([]);
    expect(data.blob).toBe(`${3 * MB}|${`${last}:`.padEnd(16, 'x')}`);
    // Redis holds the same state.
    const stored = parseStored<Record<string, unknown>>(final.cluster, await client().hgetall(keysOf(ns).cluster(final.cluster)), undefined)!;
    expect(stored.state.version).toBe(final.version);
    expect(stored.state.data!.last).toBe(last);
    expect((stored.state.data!.blob as string).length).toBe(3 * MB);

    // Redis did drop subscribers, and each drop was reported by the node it hit once it was back.
    const drops = () => outputBufferDrops() - dropsBefore;
    const reported = () => watches.reduce((sum, w) => sum + w.count('reconnected'), 0);
    expect(drops()).toBeGreaterThan(0);
    await eventually(() => reported() === drops(), 20_000, 'a reconnected report for each drop');
    // Every member got multi-megabyte changes: each was dropped and said so.
    for (const w of watches.slice(1)) expect([w.child.id, w.count('reconnected') > 0]).toEqual([w.child.id, true]);
    // Each one resubscribed: one listener on every member's channel.
    const keys = keysOf(ns);
    await eventually(
      async () => {
        const reply = (await client().call('PUBSUB', 'NUMSUB', ...nodes.map((n) => keys.node(n.id)))) as Array<string | number>;
        return nodes.every((_, i) => Number(reply[2 * i + 1]) === 1);
      },
      15_000,
      'every node subscribed again',
    );
    await expectAllAlive(nodes, watches);

    reportFault('large-values-burst', {
      writes: seq,
      resolved: resolved.length,
      rejected: rejected.length,
      subscriberDrops: drops(),
      reported: Object.fromEntries(watches.map((w) => [w.child.id, w.count('reconnected')])),
      finalVersion: final.version,
      members: members.length,
    });
  }, 180_000);

  // A secret (signatures) and long names (the frame's header carries the namespace, the cluster id and the writer's id)
  // make every frame bigger: the writer's size check must count them.
  const longName = (prefix: string) => prefix + '-'.repeat(200 - prefix.length);
  it.each([
    ['short names, no secret', {}],
    ['a secret', { secret: 'near-limit-secret' }],
  ] as const)(
    'a value near maxMessageBytes is either refused before commit with MessageTooLargeError (nothing changes anywhere) or reaches every node; no node exits, no unhandled rejection (%s)',
    async (_label, extra) => {
      await nearTheLimit(freshNamespace('near-limit'), ['w', 'm1', 'm2'], extra);
    },
    180_000,
  );

  it('a value near maxMessageBytes with 200-character namespace and node ids is refused before commit or its change fits every receiver', async () => {
    await nearTheLimit(longName(freshNamespace('near-limit')), ['w', 'm1', 'm2'].map(longName), {});
  }, 180_000);
});

/**
 * The writer w writes values from 2 KB under `maxMessageBytes` to 200 bytes over it, whole ('set') and as a
 * config key ('patch'), checking after each that it was refused with nothing changed, or is on every node.
 */
async function nearTheLimit(ns: string, ids: readonly string[], extra: { secret?: string }): Promise<void> {
  const LIMIT = 256 * 1024;
  const nodes = await children.cluster(ids, {
    redis: own().url,
    namespace: ns,
    rpcTimeoutMs: 2_000,
    gossipIntervalMs: GOSSIP_INTERVAL_MS,
    callTimeoutMs: 30_000,
    options: { maxMessageBytes: LIMIT, ...extra },
  });
  const watches = await Promise.all(nodes.map((n) => ErrorWatch.on(n)));
  const writer = nodes[0]!;
  const outcomes: Array<{ mode: string; bytes: number; result: 'applied' | 'refused' }> = [];
  let seq = 0;
  for (const mode of ['set', 'patch'] as const) {
    // Config writes need an object of keys.
    if (mode === 'patch') await writer.call('set', {});
    // From 2 KB under the limit to 200 bytes over it: the frame's own overhead is in between.
    for (let bytes = LIMIT - 2_000; bytes <= LIMIT + 200; bytes += 100) {
      const s = ++seq;
      const before = await Promise.all(nodes.map(digestOf));
      const storedBefore = await client().hget(keysOf(ns).cluster(before[0]!.cluster), 'v');
      const err = await writer.call('setBlob', mode, s, bytes).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
      if (err) {
        // Refused before commit: nothing changed anywhere.
        expect([mode, bytes, err.code]).toEqual([mode, bytes, 'message_too_large']);
        expect(await client().hget(keysOf(ns).cluster(before[0]!.cluster), 'v')).toBe(storedBefore);
        expect(await Promise.all(nodes.map(digestOf))).toEqual(before);
        outcomes.push({ mode, bytes, result: 'refused' });
      } else {
        // Applied: on every node.
        await digestsAgree(nodes, 15_000, (d) => (mode === 'set' ? typeof d.data === 'string' && d.data.startsWith(`${bytes}|${s}:`) : (d.data as { last?: number } | undefined)?.last === s));
        outcomes.push({ mode, bytes, result: 'applied' });
      }
    }
    // Each mode has both outcomes: values under the limit go through, values over it are refused.
    const mine = outcomes.filter((o) => o.mode === mode);
    expect(mine.some((o) => o.result === 'applied')).toBe(true);
    expect(mine.some((o) => o.result === 'refused')).toBe(true);
    // One threshold: everything below it applied, everything from it refused.
    const firstRefused = mine.findIndex((o) => o.result === 'refused');
    expect(mine.slice(firstRefused).every((o) => o.result === 'refused')).toBe(true);
  }
  // Nodes keep reading the state after every write (a tick each gossip period) and answering status.
  await new Promise((r) => setTimeout(r, 3 * GOSSIP_INTERVAL_MS));
  expect(await writer.call('status')).toMatchObject({ ok: true });
  await expectAllAlive(nodes, watches);
  // An accepted value never makes a receiver drop its change as too big.
  expect(watches.flatMap((w) => w.messages.filter((m) => /too_big|over the limit/.test(m)))).toEqual([]);
  reportFault('near-max-message-bytes', {
    names: ns.length,
    limit: LIMIT,
    largestApplied: Object.fromEntries(['set', 'patch'].map((m) => [m, Math.max(...outcomes.filter((o) => o.mode === m && o.result === 'applied').map((o) => o.bytes))])),
    errors: Object.fromEntries(watches.map((w) => [w.child.id, Object.fromEntries(w.codes)])),
  });
}
