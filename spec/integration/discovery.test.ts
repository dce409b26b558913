/**
 * Discovery (`join: 'auto'`), as an adversarial user tries it (issue 10: in
 * v1 a client that only subscribed to `<ns>:node:0`, even with `secret`, or
 * a smallest-id member that was SIGSTOPped, kept auto nodes apart for good,
 * and acknowledged writes of the lone clusters were lost when they finally
 * merged; a namespace with `\` passed validation and broke discovery).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Gossip, InvalidOptionError } from '../../lib/index.js';
import { parseStored } from '../../lib/node/store.js';
import { useChildren } from '../support/child.js';
import type { ChildNode, SpawnOptions, WriteAck } from '../support/child.js';
import { digestsAgree } from '../support/digests.js';
import { keysOf } from '../support/keys.js';
import { freshNamespace, useClients, useRedis } from '../support/redis.js';
import { reportFault } from '../support/report.js';
import { now, WriteLoop } from '../support/write-loop.js';

const redis = useRedis();
const client = useClients(redis);
const children = useChildren();

const GOSSIP_INTERVAL_MS = 500;
const SECRET = 'discovery-test-secret';

function autoNode(namespace: string, nodeId: string, options: NonNullable<SpawnOptions['options']> = {}): SpawnOptions {
  return { redis: redis(), namespace, nodeId, rpcTimeoutMs: 1_000, gossipIntervalMs: GOSSIP_INTERVAL_MS, options: { join: 'auto', ...options } };
}

/** Waits until `nodes` are one cluster of exactly them (every node lists all, same cluster id and version). */
async function oneCluster(nodes: readonly ChildNode[], timeoutMs: number) {
  const ids = nodes.map((n) => n.id).sort();
  return digestsAgree(nodes, timeoutMs, (d) => JSON.stringify([...d.nodes].sort()) === JSON.stringify(ids));
}

/** Acknowledged writes of the loops (`<id>-<seq>` = seq) missing from `data`. */
function missing(data: Record<string, unknown>, loops: ReadonlyArray<{ id: string; loop: WriteLoop<unknown> }>): string[] {
  return loops.flatMap(({ id, loop }) => loop.acked.filter((a) => data[`${id}-${a.seq}`] !== a.seq).map((a) => `${id}-${a.seq}`));
}

describe("join 'auto'", () => {
  it.each([
    ['without a secret', {}],
    ['with a secret', { secret: SECRET }],
  ] as const)(
    'a client that only subscribes to would-be members’ channels does not keep nodes apart: 3 nodes started at once end as one cluster (%s)',
    async (_label, extra) => {
      const ns = freshNamespace('squat');
      const keys = keysOf(ns);
      // The squatter listens where the first member (and a node "0" that never comes) would listen, before anyone starts.
      const squatter = new Redis(redis());
      try {
        await squatter.subscribe(keys.node('a'), keys.node('0'));
        const nodes = await Promise.all(['a', 'b', 'c'].map((id) => children.spawn(autoNode(ns, id, extra))));
        const view = await oneCluster(nodes, 20_000);
        expect([...view.nodes].sort()).toEqual(['a', 'b', 'c']);
        // And it works as one cluster: a write of each reaches the others.
        for (const n of nodes) await n.call('setCfg', `from-${n.id}`, n.id);
        const after = await oneCluster(nodes, 15_000);
        expect(after.data).toEqual({ 'from-a': 'a', 'from-b': 'b', 'from-c': 'c' });
        // The squatter is still there: nobody was kept out because something listens under a member's name.
        const reply = (await client().call('PUBSUB', 'NUMSUB', keys.node('a'), keys.node('0'))) as Array<string | number>;
        expect([Number(reply[1]), Number(reply[3])]).toEqual([2, 1]);
      } finally {
        squatter.disconnect();
      }
    },
    60_000,
  );

  it('the member whose id sorts first is frozen (SIGSTOP): newly started nodes still end in one cluster with the others, and every acknowledged write of each side survives', async () => {
    const ns = freshNamespace('frozen-first');
    const EVICT_AFTER_MS = 2_000;
    const opts = { evictAfterMs: EVICT_AFTER_MS };
    // a, b, c started one after the other (each discovers the one before).
    const first: ChildNode[] = [];
    for (const id of ['a', 'b', 'c']) first.push(await children.spawn(autoNode(ns, id, opts)));
    await oneCluster(first, 20_000);
    const [a, b, c] = first as [ChildNode, ChildNode, ChildNode];
    // b and c joined a's cluster: a is its leader too (the housekeeper freezes with it).
    expect(await Promise.all(first.map((n) => n.call('leader')))).toEqual(['a', 'a', 'a']);
    // Each writes before the freeze: a's writes must survive its freeze.
    const aAcked: string[] = [];
    for (let i = 1; i <= 3; i++) {
      await a.call<WriteAck>('setCfg', `a-${i}`, i);
      aAcked.push(`a-${i}`);
    }
    const loops = [b, c].map((n) => ({ id: n.id, loop: WriteLoop.start((s) => n.call<WriteAck>('setCfg', `${n.id}-${s}`, s), { pauseMs: 25 }) }));
    await Promise.all(loops.map(({ loop }) => loop.waitForAcks(3, 10_000)));

    a.kill('SIGSTOP');
    const frozenAt = now();
    // New nodes start while a is frozen, and write at once.
    const late: ChildNode[] = [];
    const atStart: Record<string, readonly string[]> = {};
    for (const id of ['d', 'e']) {
      const n = await children.spawn(autoNode(ns, id, opts));
      atStart[id] = await n.call<string[]>('nodes');
      late.push(n);
      loops.push({ id, loop: WriteLoop.start((s) => n.call<WriteAck>('setCfg', `${id}-${s}`, s), { pauseMs: 25 }) });
    }
    const live = [b, c, ...late];
    // b, c, d and e are one cluster (a evicted: it refreshes nothing while frozen).
    await oneCluster(live, 20_000);
    const togetherMs = now() - frozenAt;
    await Promise.all(loops.map(({ loop }) => loop.waitForAcks(3, 10_000, frozenAt)));

    // a comes back: it finds itself removed and rejoins by itself.
    a.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 4 * GOSSIP_INTERVAL_MS));
    await Promise.all(loops.map(({ loop }) => loop.stop()));
    const all = [a, ...live];
    const view = await oneCluster(all, 30_000);
    const data = view.data as Record<string, unknown>;
    expect(missing(data, loops)).toEqual([]);
    expect(aAcked.filter((k) => data[k] !== Number(k.slice(2)))).toEqual([]);
    expect(loops.flatMap(({ loop }) => loop.failed)).toEqual([]);
    // Redis holds the same.
    const stored = parseStored<Record<string, unknown>>(view.cluster, await client().hgetall(keysOf(ns).cluster(view.cluster)), undefined)!;
    expect(stored.state.version).toBe(view.version);
    expect(stored.state.data).toEqual(view.data);
    reportFault('discovery-frozen-first', {
      togetherMsAfterFreeze: Math.round(togetherMs),
      membersRightAfterStart: atStart,
      acked: Object.fromEntries(loops.map(({ id, loop }) => [id, loop.acked.length])),
      finalVersion: view.version,
    });
  }, 120_000);

  it('a namespace and node ids with colons, dots and unicode work for discovery', async () => {
    const ns = `${freshNamespace('odd')}:with.colons:ünïcødé·名前✓`;
    const ids = ['node:1.α', 'node:2.β', 'ノード-3'];
    const nodes = await Promise.all(ids.map((id) => children.spawn(autoNode(ns, id))));
    const view = await oneCluster(nodes, 20_000);
    expect([...view.nodes].sort()).toEqual([...ids].sort());
    await nodes[2]!.call('setCfg', 'κλειδί:1.x', 'värde');
    const after = await oneCluster(nodes, 15_000);
    expect(after.data).toEqual({ 'κλειδί:1.x': 'värde' });
    // Its keys are the namespace's own (hash-tagged with it), nothing escaped into another name.
    const stored = await client().hgetall(keysOf(ns).cluster(view.cluster));
    expect(stored.v).toBe(String(after.version));
  }, 60_000);

  const BAD = ['\\', '*', '?', '[', ']', '{', '}', ' ', '\t', '\n'];
  it.each(BAD.map((ch) => [JSON.stringify(ch), ch]))('a namespace or a nodeId with %s is refused at start() with InvalidOptionError, touching nothing in Redis', async (_label, ch) => {
    const probe = client();
    const keysBefore = await probe.dbsize();
    for (const [option, opts] of [
      ['namespace', { namespace: `bad${ch}ns`, nodeId: 'ok' }],
      ['nodeId', { namespace: freshNamespace('bad-id'), nodeId: `bad${ch}id` }],
    ] as const) {
      const err = await Gossip.start({ redis: redis(), join: 'auto', connectTimeoutMs: 2_000, ...opts }).then(
        async (g) => {
          await g.stop();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect(err).toMatchObject({ code: 'invalid_option', option });
    }
    expect(await probe.dbsize()).toBe(keysBefore);
  });
});
