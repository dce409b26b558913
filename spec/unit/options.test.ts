import { hostname } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../lib/constants.js';
import { InvalidOptionError } from '../../lib/errors.js';
import { DEFAULT_OPTIONS, defaultNodeId, resolveOptions } from '../../lib/options.js';
import type { GossipOptions } from '../../lib/options.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

function rejects(opts: GossipOptions): InvalidOptionError {
  try {
    resolveOptions(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).code).toBe('invalid_option');
    return err as InvalidOptionError;
  }
  throw new Error(`accepted ${JSON.stringify(opts)}`);
}

/** Lets a test pass what a JavaScript caller could, whatever the types say. */
const loose = (o: Record<string, unknown>): GossipOptions => o;

describe('resolveOptions: defaults', () => {
  it('the documented defaults', () => {
    expect(DEFAULT_OPTIONS).toMatchObject({
      namespace: 'simple_gossip',
      eventMode: 'auto',
      fanout: 2,
      gossipIntervalMs: 15_000,
      rpcTimeoutMs: 3_000,
      statusTimeoutMs: 1_024,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      join: 'manual',
      connectTimeoutMs: 10_000,
      nodeKeyTtlMs: 7 * 24 * 60 * 60_000,
    });
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(8 * 1024 * 1024);
  });

  it("v1's fencing and leaseMs are gone: no default, nothing resolved", () => {
    expect(DEFAULT_OPTIONS).not.toHaveProperty('fencing');
    expect(DEFAULT_OPTIONS).not.toHaveProperty('leaseMs');
    const o = resolveOptions({ nodeId: 'n1' });
    expect(o).not.toHaveProperty('fencing');
    expect(o).not.toHaveProperty('leaseMs');
  });

  it('evictAfterMs defaults to 30 s with join auto and to 0 (off) with join manual', () => {
    expect(resolveOptions({ join: 'auto' }).evictAfterMs).toBe(30_000);
    expect(resolveOptions({ join: 'manual' }).evictAfterMs).toBe(0);
    expect(resolveOptions().evictAfterMs).toBe(0);
    expect(resolveOptions({ join: 'auto', evictAfterMs: 0 }).evictAfterMs).toBe(0);
    expect(resolveOptions({ evictAfterMs: 500 }).evictAfterMs).toBe(500);
  });

  it('keeps a signal it is given, and has none by default', () => {
    const ac = new AbortController();
    expect(resolveOptions({ signal: ac.signal }).signal).toBe(ac.signal);
    expect(resolveOptions().signal).toBeUndefined();
  });

  it('fills every option in when none is given', () => {
    vi.stubEnv('REDIS_URL', undefined);
    const o = resolveOptions();
    expect(o).toMatchObject({ ...DEFAULT_OPTIONS, nodeId: hostname(), redis: 'redis://127.0.0.1:6379' });
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      expect(typeof o.logger[level]).toBe('function');
      expect(() => o.logger[level]('quiet')).not.toThrow();
    }
  });

  it('redis defaults to REDIS_URL when it is set', () => {
    vi.stubEnv('REDIS_URL', 'redis://elsewhere:6390');
    expect(resolveOptions().redis).toBe('redis://elsewhere:6390');
    expect(resolveOptions({ redis: 'redis://mine:1' }).redis).toBe('redis://mine:1');
  });

  it('keeps what is given and treats undefined as not given', () => {
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const o = resolveOptions({
      nodeId: 'n1',
      namespace: 'ns',
      eventMode: 'sync',
      fanout: 3,
      gossipIntervalMs: 50,
      rpcTimeoutMs: 10,
      statusTimeoutMs: 20,
      maxMessageBytes: 1024,
      logger,
    });
    expect(o).toMatchObject({
      nodeId: 'n1',
      namespace: 'ns',
      eventMode: 'sync',
      fanout: 3,
      gossipIntervalMs: 50,
      rpcTimeoutMs: 10,
      statusTimeoutMs: 20,
      maxMessageBytes: 1024,
    });
    expect(o.logger).toBe(logger);
    expect(resolveOptions({ fanout: undefined, namespace: undefined }).fanout).toBe(2);
    expect(resolveOptions({ namespace: undefined }).namespace).toBe('simple_gossip');
  });

  it('does not modify the options it is given', () => {
    const given: GossipOptions = { nodeId: 'n1', fanout: undefined };
    resolveOptions(given);
    expect(given).toEqual({ nodeId: 'n1', fanout: undefined });
  });
});

describe('resolveOptions: each invalid option is an InvalidOptionError naming it', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['nodeId', { nodeId: '' }],
    ['nodeId', { nodeId: 'has space' }],
    ['nodeId', { nodeId: 'tab\there' }],
    ['nodeId', { nodeId: 'glob*' }],
    ['nodeId', { nodeId: 'what?' }],
    ['nodeId', { nodeId: 'br[ack]et' }],
    ['nodeId', { nodeId: 'x'.repeat(201) }],
    ['nodeId', { nodeId: 42 }],
    ['namespace', { namespace: '' }],
    ['namespace', { namespace: 'a b' }],
    ['namespace', { namespace: 'ns*' }],
    ['namespace', { namespace: 'x'.repeat(201) }],
    ['eventMode', { eventMode: 'eager' }],
    ['eventMode', { eventMode: 'SYNC' }],
    ['fanout', { fanout: 0 }],
    ['fanout', { fanout: -1 }],
    ['fanout', { fanout: 1.5 }],
    ['fanout', { fanout: Number.NaN }],
    ['fanout', { fanout: '2' }],
    ['fanout', { fanout: null }],
    ['gossipIntervalMs', { gossipIntervalMs: 0 }],
    ['gossipIntervalMs', { gossipIntervalMs: Number.POSITIVE_INFINITY }],
    ['rpcTimeoutMs', { rpcTimeoutMs: 0 }],
    ['rpcTimeoutMs', { rpcTimeoutMs: 2.5 }],
    ['statusTimeoutMs', { statusTimeoutMs: -5 }],
    ['statusTimeoutMs', { statusTimeoutMs: '1024' }],
    ['maxMessageBytes', { maxMessageBytes: 1023 }],
    ['maxMessageBytes', { maxMessageBytes: 2 ** 60 }],
    ['nodeId', { nodeId: 'hash{tag}' }],
    ['nodeId', { nodeId: 'back\\slash' }],
    ['namespace', { namespace: '{ns}' }],
    ['join', { join: 'sometimes' }],
    ['join', { join: true }],
    ['evictAfterMs', { evictAfterMs: -1 }],
    ['evictAfterMs', { evictAfterMs: 1.5 }],
    ['connectTimeoutMs', { connectTimeoutMs: 0 }],
    ['connectTimeoutMs', { connectTimeoutMs: '10s' }],
    ['nodeKeyTtlMs', { nodeKeyTtlMs: 999 }],
    ['nodeKeyTtlMs', { nodeKeyTtlMs: Number.POSITIVE_INFINITY }],
    ['signal', { signal: 'abort' }],
    ['signal', { signal: { aborted: false } }],
    ['secret', { secret: '' }],
    ['secret', { secret: [] }],
    ['secret', { secret: 42 }],
    ['logger', { logger: {} }],
    ['logger', { logger: { debug() {}, info() {}, warn() {} } }],
    ['logger', { logger: { debug() {}, info() {}, warn: 'no', error() {} } }],
  ];

  it.each(cases)('%s: %j', (option, opts) => {
    const err = rejects(loose({ nodeId: 'n1', ...opts }));
    expect(err.option).toBe(option);
    expect(err.message).toContain(option);
    expect(err.name).toBe('InvalidOptionError');
  });

  it('accepts the edges of every range', () => {
    expect(() => resolveOptions({ nodeId: 'x'.repeat(200), namespace: 'a', fanout: 1, gossipIntervalMs: 1, rpcTimeoutMs: 1, statusTimeoutMs: 1, maxMessageBytes: 1024 })).not.toThrow();
    expect(() => resolveOptions({ nodeId: 'n:1', namespace: 'my-app.prod_1', eventMode: 'async' })).not.toThrow();
    expect(() => resolveOptions({ nodeId: 'n1', evictAfterMs: 0, connectTimeoutMs: 1, nodeKeyTtlMs: 1_000, join: 'auto', secret: ['old', Buffer.from('new')] })).not.toThrow();
  });
});

describe('the default node id', () => {
  it('is the host name in a plain process', () => {
    expect(defaultNodeId({}, undefined)).toBe(hostname());
  });

  it('adds PM2’s instance number, so two PM2 instances on one host differ', () => {
    expect(defaultNodeId({ NODE_APP_INSTANCE: '0' }, undefined)).toBe(`${hostname()}-0`);
    expect(defaultNodeId({ NODE_APP_INSTANCE: '3' }, undefined)).toBe(`${hostname()}-3`);
  });

  it('adds the node:cluster worker id in a worker', () => {
    expect(defaultNodeId({}, { id: 2 })).toBe(`${hostname()}-w2`);
  });

  it('is what resolveOptions gives when no nodeId is passed', () => {
    expect(resolveOptions({}).nodeId).toBe(defaultNodeId());
  });
});
