import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis } from '../../lib/testing.js';
import type { TestRedis } from '../../lib/testing.js';
import { hasBinary } from '../../lib/testing/redis-server.js';
import { useNodes } from '../support/cluster.js';

/** `simple-gossip/testing`: the throwaway Redis a user starts for their own tests. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Redis servers and clients of one test, stopped after it whatever happened. */
let started: TestRedis[] = [];
let clients: Redis[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.map((c) => c.quit()));
  await Promise.allSettled(started.map((r) => r.stop()));
  started = [];
  clients = [];
});

async function start(...args: Parameters<typeof startRedis>): Promise<TestRedis> {
  const redis = await startRedis(...args);
  started.push(redis);
  return redis;
}

function client(url: string, options: { password?: string } = {}): Redis {
  // No retries: a refused connection must fail the command, not wait for a restart.
  const c = new Redis(url, { ...options, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

/** How a TCP connection to the port ends: 'open', or the error's code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describe.runIf(hasBinary('redis-server'))('startRedis, with redis-server installed', () => {
  it('starts an empty Redis of its own on a loopback port, and it answers', async () => {
    const redis = await start();
    expect(redis.source).toBe('binary');
    expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const c = client(redis.url);
    expect(await c.ping()).toBe('PONG');
    expect(await c.dbsize()).toBe(0);
  });

  it('each call starts another Redis: another port, data of its own', async () => {
    const [one, two] = [await start(), await start()];
    expect(one.url).not.toBe(two.url);
    await client(one.url).set('k', 'in one');
    expect(await client(two.url).get('k')).toBeNull();
  });

  it('stop() kills it: its port refuses connections afterwards, and a second stop() resolves too', async () => {
    const redis = await start();
    const port = portOf(redis.url);
    expect(await tryConnect(port)).toBe('open');
    await redis.stop();
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    await expect(redis.stop()).resolves.toBeUndefined();
  });

  it('[Symbol.asyncDispose] stops it, as `await using` does', async () => {
    const redis = await start();
    await redis[Symbol.asyncDispose]();
    expect(await tryConnect(portOf(redis.url))).toBe('ECONNREFUSED');
  });

  it('args reach redis-server: with --requirepass it refuses a client without the password', async () => {
    const redis = await start({ args: ['--requirepass', 'sesame'] });
    await expect(client(redis.url).get('k')).rejects.toThrow(/NOAUTH/);
    expect(await client(redis.url, { password: 'sesame' }).ping()).toBe('PONG');
  });

  describe('with Gossip nodes on it', () => {
    let redis: TestRedis | undefined;
    const { cluster } = useNodes(() => {
      if (!redis) throw new Error('no Redis started yet');
      return redis.url;
    });

    it('two nodes meet on it: a write on one is read on the other', async () => {
      redis = await start();
      const [a, b] = await cluster(['t-a', 't-b']);
      await a!.setCfgSync('feature', true);
      expect(b!.getCfg('feature')).toBe(true);
    });
  });
});

describe('startRedis, without redis-server on the PATH', () => {
  it('turns to testcontainers: a container when Docker runs, else a rejection that says testcontainers could not start it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sg-testing-'));
    try {
      const script = join(dir, 'no-binary.mts');
      await writeFile(
        script,
        `
        import { startRedis } from ${JSON.stringify(pathToFileURL(join(ROOT, 'lib', 'testing.js')).href)};
        try {
          const redis = await startRedis();
          console.log(JSON.stringify({ source: redis.source }));
          await redis.stop();
        } catch (err) {
          console.log(JSON.stringify({ error: err.message }));
        }
      `,
      );
      // An empty PATH: no redis-server (nor a shell to find one); node itself is named by its path.
      const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
        execFile(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, PATH: dir }, timeout: 60_000 }, (err, stdout) =>
          err ? reject(Object.assign(new Error(err.message), { cause: err })) : resolve({ stdout }),
        ),
      );
      const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { source?: string; error?: string };
      if (out.source !== undefined) expect(out.source).toBe('container');
      else expect(out.error).toMatch(/^startRedis\(\): no redis-server on the PATH, and testcontainers could not start redis:7-alpine: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
