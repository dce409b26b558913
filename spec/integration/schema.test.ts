import { Registry } from 'prom-client';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerGossipMetrics } from '../../lib/exporters/prometheus.js';
import { GossipError, InvalidOptionError, ValidationError } from '../../lib/index.js';
import type { Gossip } from '../../lib/index.js';
import { eventually, nextEvent, useNodes } from '../support/cluster.js';
import { readClusterHash } from '../support/keys.js';
import { useClients, useRedis } from '../support/redis.js';

const redis = useRedis();
const { start, cluster, namespace } = useNodes(redis);
const client = useClients(redis);

const Flags = z.object({ limit: z.number().int().min(1), mode: z.enum(['dark', 'light']), beta: z.boolean().optional() });
type Flags = z.infer<typeof Flags>;
const VALID: Flags = { limit: 1, mode: 'dark' };

/** The version of `node`'s cluster in Redis. */
async function versionInRedis<T>(node: Gossip<T>): Promise<number> {
  return Number((await readClusterHash(client(), namespace(), node.rumor.cluster)).v);
}

/** How many scripts Redis has run (every commit is one): a write refused before it is sent runs none. */
async function scriptCalls(): Promise<number> {
  const stats = await client().info('commandstats');
  return [...stats.matchAll(/^cmdstat_(?:evalsha|eval|fcall):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** The rejection of `write`, which must be a ValidationError. */
async function refused(write: Promise<unknown>): Promise<ValidationError> {
  const err: unknown = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  expect(err).toBeInstanceOf(GossipError);
  expect((err as ValidationError).code).toBe('invalid_data');
  return err as ValidationError;
}

/** Collects the 'error' events of `node`. */
function errorsOf<T>(node: Gossip<T>): Error[] {
  const errors: Error[] = [];
  node.on('error', (err) => errors.push(err));
  return errors;
}

describe('writes with a schema', () => {
  it('valid writes of every kind commit and reach every member', async () => {
    const [a, b] = await cluster<Flags>(['a', 'b'], { schema: Flags });
    await a!.set(VALID);
    await a!.setCfg('limit', 5);
    await b!.patchCfg({ mode: 'light', beta: true });
    await a!.deleteCfg('beta');
    await b!.set((cur) => (cur ? { change: { ...cur, limit: cur.limit + 1 } } : 'no_change'));
    await b!.setSync((cur) => (cur ? { change: { ...cur, beta: false } } : 'no_change'));
    for (const n of [a!, b!]) expect(n.get()).toEqual({ limit: 6, mode: 'light', beta: false });
    await a!.set(undefined);
    await eventually(() => b!.get() === undefined);
  });

  it('an invalid set, setCfg, patchCfg, deleteCfg or updater result rejects with ValidationError before anything is sent: Redis runs no script and its version stays', async () => {
    const [a, b] = await cluster<Flags>(['a', 'b'], { schema: Flags, gossipIntervalMs: 60_000 });
    await a!.setSync(VALID);
    const version = await versionInRedis(a!);
    const scripts = await scriptCalls();

    const set = await refused(a!.set({ limit: 0, mode: 'dark' }));
    expect(set.issues).toEqual([expect.objectContaining({ path: ['limit'] })]);
    expect(set.message).toMatch(/^the data of set\(\) does not match the schema: limit: /);
    const setCfg = await refused(b!.setCfg('limit', 'many' as never));
    expect(setCfg.message).toContain('limit: ');
    const patch = await refused(a!.patchCfg({ mode: 'blue' as never, beta: true }));
    expect(patch.issues.map((i) => i.path)).toEqual([['mode']]);
    // The data a delete leaves has no limit, which the schema requires.
    const del = await refused(b!.deleteCfg('limit' as never));
    expect(del.issues.map((i) => i.path)).toEqual([['limit']]);
    const updater = await refused(a!.set((cur) => (cur ? { change: { ...cur, limit: -cur.limit } } : 'no_change')));
    expect(updater.message).toMatch(/^the data an updater returned does not match the schema: limit: /);
    await refused(b!.setSync({ limit: 2 } as never));
    await refused(a!.setCfgSync('mode', 'blue' as never));

    expect(await scriptCalls()).toBe(scripts);
    expect(await versionInRedis(a!)).toBe(version);
    for (const n of [a!, b!]) {
      expect(n.version).toBe(version);
      expect(n.get()).toEqual(VALID);
    }
  });

  it('of updaters batched together, the one whose result does not match rejects alone and the others commit', async () => {
    const a = await start<Flags>('a', { schema: Flags });
    await a.set(VALID);
    const inc = (cur: Readonly<Flags> | undefined) => (cur ? { change: { ...cur, limit: cur.limit + 1 } } : ('no_change' as const));
    const results = await Promise.allSettled([a.set(inc), a.set(inc), a.set(() => ({ change: { limit: 0, mode: 'dark' as const } })), a.set(inc)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
    expect(a.get()).toEqual({ limit: 4, mode: 'dark' });
  });

  it('a schema that is not a Standard Schema is refused at start', async () => {
    await expect(start('a', { schema: { parse: (x: unknown) => x } as never })).rejects.toThrow(InvalidOptionError);
    await expect(start('a', { schema: { '~standard': { version: 2, validate: () => ({ value: 1 }) } } as never })).rejects.toThrow(/option "schema": must be a Standard Schema v1/);
  });
});

describe('states from elsewhere with a schema', () => {
  const Strict = v.object({ limit: v.pipe(v.number(), v.minValue(1)), mode: v.picklist(['dark', 'light']) });

  it('a node whose schema refuses what a node without one wrote keeps its data, reports and counts it, and takes the next valid state', async () => {
    const lax = await start('lax');
    const strict = await start<v.InferOutput<typeof Strict>>('strict', { schema: Strict });
    await lax.join('strict');
    await eventually(() => strict.nodes.length === 2 && lax.nodes.length === 2);
    await lax.setSync({ limit: 3, mode: 'dark' });
    const valid = { version: strict.version, data: strict.get() };
    expect(valid.data).toEqual({ limit: 3, mode: 'dark' });
    const errors = errorsOf(strict);

    const reported = nextEvent<Error>((h) => (strict.on('error', h), () => strict.off('error', h)));
    await lax.setCfg('limit', -5);
    const err = await reported;
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual([['limit']]);
    expect(err.message).toMatch(new RegExp(`^the data of cluster ${lax.rumor.cluster} at version ${lax.version} does not match the schema: limit: `));
    expect(await versionInRedis(lax)).toBe(lax.version);
    expect(strict.version).toBe(valid.version);
    expect(strict.get()).toBe(valid.data);
    expect(strict.metrics().counters.invalidStates).toBe(1);
    const registry = new Registry();
    const unregister = registerGossipMetrics(strict, { registry });
    expect(await registry.metrics()).toMatch(new RegExp(`^simple_gossip_invalid_states_total\\{node_id="strict",namespace="${namespace()}"\\} 1$`, 'm'));
    unregister();

    // A valid state follows: the node takes it (reading the state whole, as the change it refused is missing).
    await lax.setCfg('limit', 7);
    await eventually(() => strict.version === lax.version);
    expect(strict.get()).toEqual({ limit: 7, mode: 'dark' });
    expect(errors.filter((e) => e instanceof ValidationError)).toHaveLength(1);
    expect(strict.metrics().counters.invalidStates).toBe(1);
  });

  it('a node that starts on a cluster whose data does not match its schema rejects the start', async () => {
    const lax = await start('lax');
    const strict = await start('strict', { schema: Strict });
    await lax.join('strict');
    await eventually(() => strict.nodes.length === 2);
    await strict.stop();
    await lax.set({ limit: 'lots', mode: 'dark' });
    const err = await start('strict', { schema: Strict }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual([['limit']]);
  });

  it('setSync waits for a member whose async schema holds the change back: it acks only what it holds, so it is asked, and answers once it holds it', async () => {
    const Slow = Flags.refine(async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return true;
    });
    const lax = await start<Flags>('lax');
    const slow = await start<Flags>('slow', { schema: Slow });
    await lax.join('slow');
    await eventually(() => lax.nodes.length === 2 && slow.nodes.length === 2 && lax.version === slow.version);
    const acks = () => lax.metrics().received.ack?.messages ?? 0;
    const asked = () => lax.metrics().rpc.vsn?.answered ?? 0;
    const [acksBefore, askedBefore] = [acks(), asked()];
    await lax.setSync({ limit: 3, mode: 'dark' });
    expect(slow.version).toBe(lax.version);
    expect(slow.get()).toEqual({ limit: 3, mode: 'dark' });
    expect(acks()).toBe(acksBefore);
    expect(asked()).toBe(askedBefore + 1);
  });

  it('an async schema is awaited: for writes before they are sent, and for states from other nodes before they are installed', async () => {
    let checks = 0;
    const Async = Flags.refine(
      async (d) => {
        checks++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return d.mode !== 'light' || d.limit <= 10;
      },
      { message: 'light mode allows at most 10', path: ['limit'] },
    );
    expect(Async['~standard'].validate(VALID)).toBeInstanceOf(Promise);
    const lax = await start('lax');
    const a = await start<Flags>('a', { schema: Async });
    await lax.join('a');
    await eventually(() => a.nodes.length === 2);

    await a.setSync({ limit: 20, mode: 'dark' });
    expect(lax.get()).toEqual({ limit: 20, mode: 'dark' });
    const scripts = await scriptCalls();
    const own = await refused(a.setCfg('mode', 'light'));
    expect(own.message).toContain('limit: light mode allows at most 10');
    expect(await scriptCalls()).toBe(scripts);

    // From the node without a schema: refused, then one that passes is taken.
    const errors = errorsOf(a);
    const before = checks;
    await lax.setCfg('mode', 'light');
    await eventually(() => errors.some((e) => e instanceof ValidationError));
    expect(checks).toBeGreaterThan(before);
    expect(a.get()).toEqual({ limit: 20, mode: 'dark' });
    await lax.setCfg('limit', 9);
    await eventually(() => a.version === lax.version);
    expect(a.get()).toEqual({ limit: 9, mode: 'light' });
    // Its own writes are installed once their check passed, in the order they were made.
    await Promise.all([a.setCfg('limit', 8), a.setCfg('limit', 7)]);
    expect(a.getCfg('limit')).toBe(7);
  });
});
