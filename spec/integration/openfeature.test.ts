/**
 * The OpenFeature provider, used through the OpenFeature server SDK's client
 * as an application would, with two nodes on a real Redis: flags written on
 * one are evaluated on the other.
 */
import { ErrorCode, OpenFeature, ProviderEvents, ProviderStatus, StandardResolutionReasons } from '@openfeature/server-sdk';
import type { EventDetails } from '@openfeature/server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gossip } from '../../lib/index.js';
import { changedFlags, GossipProvider } from '../../lib/integrations/openfeature.js';
import { eventually, nextEvent, useNodes } from '../support/cluster.js';
import { randomBytes } from 'node:crypto';
import { FaultProxy } from '../support/fault-proxy.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();

let proxy: FaultProxy | undefined;
// Registered before useNodes, so it runs after the nodes are stopped (hooks run in reverse): a node stops through its proxy.
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});
const { start, cluster } = useNodes(redis);

afterEach(async () => {
  // Shuts every provider down (each stops listening to its node); the nodes are stopped by useNodes.
  await OpenFeature.close();
});

interface Flags {
  'new-checkout'?: boolean;
  banner?: string;
  'max-items'?: number;
  limits?: { perMinute: number };
}

/** Two members; the reader serves flags through OpenFeature in a domain of this test's own. */
async function setup() {
  const [writer, reader] = await cluster<Flags>(['writer', 'reader']);
  const provider = new GossipProvider(reader!);
  const domain = `test-${randomBytes(4).toString('hex')}`;
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  /** The next ConfigurationChanged event this client hears. */
  const nextChange = () =>
    nextEvent<EventDetails<ProviderEvents.ConfigurationChanged> | undefined>((h) => {
      client.addHandler(ProviderEvents.ConfigurationChanged, h);
      return () => client.removeHandler(ProviderEvents.ConfigurationChanged, h);
    });
  return { writer: writer!, reader: reader!, provider, client, domain, nextChange };
}

/** Waits until `node` holds `writer`'s version. */
const caughtUp = (node: Gossip<Flags>, writer: Gossip<Flags>) => eventually(() => node.version === writer.version);

describe('the OpenFeature provider', () => {
  it('is READY once its node is synced, named simple-gossip', async () => {
    const { client, provider, domain } = await setup();
    expect(client.providerStatus).toBe(ProviderStatus.READY);
    expect(OpenFeature.getProviderMetadata(domain).name).toBe('simple-gossip');
    expect(provider.metadata.name).toBe('simple-gossip');
  });

  it('a flag written on one node is evaluated on the other, of each type, with reason STATIC and the version', async () => {
    const { writer, reader, client } = await setup();
    await writer.patchCfg({ 'new-checkout': true, banner: 'hello', 'max-items': 25, limits: { perMinute: 60 } });
    await caughtUp(reader, writer);

    expect(await client.getBooleanValue('new-checkout', false)).toBe(true);
    expect(await client.getStringValue('banner', 'none')).toBe('hello');
    expect(await client.getNumberValue('max-items', 10)).toBe(25);
    expect(await client.getObjectValue('limits', { perMinute: 1 })).toEqual({ perMinute: 60 });
    const details = await client.getBooleanDetails('new-checkout', false);
    expect(details).toMatchObject({ flagKey: 'new-checkout', value: true, reason: StandardResolutionReasons.STATIC, flagMetadata: { version: reader.version } });
    expect(details.errorCode).toBeUndefined();
  });

  it('a missing flag gives the default with FLAG_NOT_FOUND; a flag of another type, the default with TYPE_MISMATCH', async () => {
    const { writer, reader, client } = await setup();
    await writer.setCfgSync('banner', 'hello');
    const missing = await client.getBooleanDetails('no-such-flag', true);
    expect(missing).toMatchObject({ value: true, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND });
    expect(missing.errorMessage).toContain('no-such-flag');
    const wrong = await client.getNumberDetails('banner', 7);
    expect(wrong).toMatchObject({ value: 7, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.TYPE_MISMATCH });
    expect(wrong.errorMessage).toMatch(/holds a string, not a number/);
    expect((await client.getObjectDetails('banner', {})).errorCode).toBe(ErrorCode.TYPE_MISMATCH);
    expect(await client.getStringValue('banner', 'none')).toBe('hello');
    // A key removed is missing again.
    await writer.deleteCfgSync('banner');
    expect(reader.getCfg('banner')).toBeUndefined();
    expect((await client.getStringDetails('banner', 'none')).errorCode).toBe(ErrorCode.FLAG_NOT_FOUND);
  });

  it('a write on the other node fires ConfigurationChanged with the keys it changed', async () => {
    const { writer, client, nextChange } = await setup();
    let change = nextChange();
    await writer.setCfg('new-checkout', true);
    expect((await change)?.flagsChanged).toEqual(['new-checkout']);
    expect(await client.getBooleanValue('new-checkout', false)).toBe(true);

    change = nextChange();
    await writer.patchCfg({ banner: 'hi', 'max-items': 3 });
    expect((await change)?.flagsChanged).toEqual(['banner', 'max-items']);

    change = nextChange();
    await writer.patchCfg({ banner: 'hi', 'new-checkout': undefined }); // banner unchanged, one key removed
    expect((await change)?.flagsChanged).toEqual(['new-checkout']);
    expect((await client.getBooleanDetails('new-checkout', false)).errorCode).toBe(ErrorCode.FLAG_NOT_FOUND);
  });

  it('a membership change is no configuration change; a closed provider stops listening and leaves its node running', async () => {
    const { writer, reader, provider } = await setup();
    const seen: unknown[] = [];
    provider.events.addHandler(ProviderEvents.ConfigurationChanged, (d) => seen.push(d?.flagsChanged));
    const third = await start<Flags>('third');
    await writer.join('third');
    await eventually(() => reader.nodes.length === 3 && third.version === writer.version);
    await writer.setCfg('banner', 'one');
    await caughtUp(reader, writer);
    expect(seen).toEqual([['banner']]);

    await OpenFeature.close();
    // A 'data' handler registered after the provider's runs after it: when it has, the provider would have emitted.
    const after = nextEvent<unknown>((h) => {
      reader.on('data', h);
      return () => reader.off('data', h);
    });
    await writer.setCfg('banner', 'two');
    await after;
    expect(seen).toEqual([['banner']]);
    expect(reader.ready).toBe(true);
    expect(reader.getCfg('banner')).toBe('two');
  });

  it('while its node is cut off from Redis it serves the last values it holds, with reason CACHED', async () => {
    proxy = await FaultProxy.start(redis());
    const writer = await start<Flags>('writer');
    const reader = await start<Flags>('reader', { redis: proxy.url });
    reader.on('error', () => undefined); // the lost connection is reported there
    await writer.join('reader');
    await writer.setCfgSync('banner', 'before');
    const domain = `test-${randomBytes(4).toString('hex')}`;
    await OpenFeature.setProviderAndWait(domain, new GossipProvider(reader));
    const client = OpenFeature.getClient(domain);
    expect((await client.getStringDetails('banner', 'none')).reason).toBe(StandardResolutionReasons.STATIC);

    proxy.setMode('drop');
    await eventually(() => !reader.synced);
    await writer.setCfg('banner', 'after'); // the cut-off node cannot know
    expect(await client.getStringDetails('banner', 'none')).toMatchObject({ value: 'before', reason: StandardResolutionReasons.CACHED });

    proxy.setMode('pass');
    await eventually(() => reader.synced && reader.getCfg('banner') === 'after', 10_000);
    expect(await client.getStringDetails('banner', 'none')).toMatchObject({ value: 'after', reason: StandardResolutionReasons.STATIC });
  }, 30_000);

  it('a provider for a stopped node does not become ready', async () => {
    const a = await start<Flags>('a');
    await a.stop();
    const domain = `test-${randomBytes(4).toString('hex')}`;
    await expect(OpenFeature.setProviderAndWait(domain, new GossipProvider(a))).rejects.toThrow();
    expect(OpenFeature.getClient(domain).providerStatus).toBe(ProviderStatus.ERROR);
  });

  it('bad arguments are refused with a clear error', () => {
    // @ts-expect-error: not a node
    expect(() => new GossipProvider({})).toThrow(/started simple-gossip node/);
    expect(() => new GossipProvider({ get: () => undefined, on: () => undefined } as never, { syncTimeoutMs: -1 })).toThrow(RangeError);
  });
});

describe('changedFlags', () => {
  it('lists keys set, changed (by value, not identity) and removed', () => {
    expect(changedFlags({ a: 1, b: { x: 1 }, c: 3 }, { a: 2, b: { x: 1 }, d: 4 })).toEqual(['a', 'd', 'c']);
    expect(changedFlags(undefined, { a: 1 })).toEqual(['a']);
    expect(changedFlags({ a: 1 }, 'not config')).toEqual(['a']);
    expect(
      changedFlags(
        new Map([['k', 1]]),
        new Map([
          ['k', 2],
          ['l', 3],
        ]),
      ),
    ).toEqual(['k', 'l']);
    const same = { a: 1 };
    expect(changedFlags(same, same)).toEqual([]);
  });
});
