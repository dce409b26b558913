import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();

let echo: Server;
let echoPort: number;
beforeAll(async () => {
  echo = createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => echo.close(() => resolve())));

let proxies: FaultProxy[] = [];
let sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets = [];
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});

async function proxy(): Promise<FaultProxy> {
  const p = await FaultProxy.start(echoPort);
  proxies.push(p);
  return p;
}

/** A client socket through the proxy that records what it receives and how it ended. */
function client(p: FaultProxy) {
  const socket = connect({ port: p.port, host: '127.0.0.1' });
  sockets.push(socket);
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (received += d));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  const connected = once(socket, 'connect');
  connected.catch(() => undefined); // a refused connection is what some tests expect
  return {
    socket,
    received: () => received,
    closed: () => closed,
    connected,
  };
}

describe('the fault proxy', () => {
  it("'pass' forwards bytes both ways", async () => {
    const p = await proxy();
    const c = client(p);
    await c.connected;
    c.socket.write('hello');
    await eventually(() => c.received() === 'hello', 2_000);
    expect(p.openConnections).toBe(1);
    expect(p.counts.accepted).toBe(1);
  });

  it("'delay' holds each chunk the given time each way and keeps their order", async () => {
    const p = await proxy();
    const c = client(p);
    await c.connected;
    p.setMode('delay', 150);
    const sent = Date.now();
    const words = Array.from({ length: 20 }, (_, i) => `<${i}>`);
    for (const w of words) c.socket.write(w);
    await eventually(() => c.received() === words.join(''), 5_000);
    // Out through the proxy and back: two delays at least.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(300);
    expect(p.counts.delayedChunks).toBeGreaterThanOrEqual(2);

    p.setMode('pass');
    const before = Date.now();
    c.socket.write('quick');
    await eventually(() => c.received().endsWith('quick'), 2_000);
    expect(Date.now() - before).toBeLessThan(150);
  });

  it("'drop' destroys open connections and refuses new ones until restored", async () => {
    const p = await proxy();
    const open = client(p);
    await open.connected;
    p.setMode('drop');
    await eventually(() => open.closed(), 2_000);
    expect(p.counts.severed).toBe(1);

    const refused = client(p);
    await eventually(() => refused.closed(), 2_000);
    expect(refused.received()).toBe('');
    expect(p.counts.refused).toBe(1);

    p.setMode('pass');
    const again = client(p);
    await again.connected;
    again.socket.write('back');
    await eventually(() => again.received() === 'back', 2_000);
  });

  it("'drop' with 'blackhole' holds new connections silent, then ends them on restore", async () => {
    const p = await proxy();
    p.setMode('drop', 'blackhole');
    const held = client(p);
    await held.connected;
    held.socket.write('anyone?');
    await eventually(() => p.counts.blackholed === 1, 2_000);
    expect(held.received()).toBe('');
    expect(held.closed()).toBe(false);
    p.setMode('pass');
    await eventually(() => held.closed(), 2_000);
    expect(held.received()).toBe('');
  });

  it('an ioredis client through it reconnects once the link is restored', async () => {
    const p = await FaultProxy.start(redis());
    proxies.push(p);
    const r = new Redis(p.url, { retryStrategy: () => 50 });
    r.on('error', () => undefined);
    try {
      expect(await r.ping()).toBe('PONG');
      p.setMode('drop');
      await eventually(() => r.status !== 'ready', 2_000);
      p.setMode('pass');
      await eventually(() => r.status === 'ready', 5_000);
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
    }
  });

  it('close is idempotent and frees the port', async () => {
    const p = await proxy();
    await Promise.all([p.close(), p.close()]);
    const c = client(p);
    await eventually(() => c.closed(), 2_000);
    expect(c.received()).toBe('');
  });
});
