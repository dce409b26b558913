/**
 * A TCP proxy that tests put between a node and its Redis to inject network
 * faults on that one link: cut it, or slow it down, then restore it.
 *
 *   pass   bytes flow both ways as they come
 *   drop   every open connection is destroyed; new ones are refused (accepted
 *          and reset at once) or, with 'blackhole', accepted and left silent
 *          until the mode changes, when they are destroyed
 *   delay  every chunk, both ways, is held N ms (order kept)
 */
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export type FaultMode = 'pass' | 'drop' | 'delay';
export type NewConnections = 'refuse' | 'blackhole';

/** What the proxy did so far, for reports. */
export interface FaultCounts {
  /** Connections forwarded to the target. */
  accepted: number;
  /** Connections reset at once in 'drop' mode. */
  refused: number;
  /** Connections held silent in 'drop' mode with 'blackhole'. */
  blackholed: number;
  /** Open connections destroyed by switching to 'drop'. */
  severed: number;
  /** Chunks held back in 'delay' mode. */
  delayedChunks: number;
}

/** One forwarded connection: both sockets, and the ordered queue each way. */
class Link {
  readonly #lanes: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly proxy: FaultProxy,
  ) {
    client.on('data', (chunk: Buffer) => this.#forward(0, chunk, upstream));
    upstream.on('data', (chunk: Buffer) => this.#forward(1, chunk, client));
    const close = () => this.destroy();
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.forget(this);
  }

  #forward(lane: 0 | 1, chunk: Buffer, to: Socket): void {
    const delayMs = this.proxy.delayMs;
    if (delayMs === 0) {
      // Behind chunks still held from a 'delay' period, so the order is kept.
      this.#lanes[lane] = this.#lanes[lane]!.then(() => void (to.destroyed ? undefined : to.write(chunk)));
      return;
    }
    this.proxy.counts.delayedChunks++;
    const due = Date.now() + delayMs;
    this.#lanes[lane] = this.#lanes[lane]!.then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())))).then(() => void (to.destroyed ? undefined : to.write(chunk)));
  }
}

export class FaultProxy {
  readonly counts: FaultCounts = { accepted: 0, refused: 0, blackholed: 0, severed: 0, delayedChunks: 0 };
  readonly #server: Server;
  readonly #links = new Set<Link>();
  readonly #held = new Set<Socket>();
  #mode: FaultMode = 'pass';
  #newConnections: NewConnections = 'refuse';
  #delayMs = 0;
  #closing: Promise<void> | undefined;

  private constructor(
    server: Server,
    readonly port: number,
    readonly targetPort: number,
    readonly targetHost: string,
  ) {
    this.#server = server;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `target` (a port, or a redis:// URL). */
  static async start(target: number | string, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    let port: number;
    let host = targetHost;
    if (typeof target === 'string') {
      const url = new URL(target);
      port = Number(url.port || 6379);
      host = url.hostname;
    } else {
      port = target;
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('fault proxy: no address');
    return new FaultProxy(server, address.port, port, host);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get mode(): FaultMode {
    return this.#mode;
  }

  /** The delay added to each chunk now (0 unless in 'delay' mode). */
  get delayMs(): number {
    return this.#mode === 'delay' ? this.#delayMs : 0;
  }

  /** Connections open through the proxy right now (held ones not counted). */
  get openConnections(): number {
    return this.#links.size;
  }

  setMode(mode: 'pass'): void;
  setMode(mode: 'delay', delayMs: number): void;
  setMode(mode: 'drop', newConnections?: NewConnections): void;
  setMode(mode: FaultMode, arg?: number | NewConnections): void {
    if (mode === 'delay') {
      if (typeof arg !== 'number' || !(arg >= 0)) throw new RangeError(`fault proxy: 'delay' needs a delay in ms, not ${String(arg)}`);
      this.#delayMs = arg;
    }
    if (mode === 'drop') this.#newConnections = arg === 'blackhole' ? 'blackhole' : 'refuse';
    const wasDrop = this.#mode === 'drop';
    this.#mode = mode;
    if (mode === 'drop') {
      for (const link of [...this.#links]) {
        this.counts.severed++;
        link.destroy();
      }
    } else if (wasDrop) {
      // The silent ones end now, so their clients reconnect through a live link.
      for (const s of this.#held) s.destroy();
      this.#held.clear();
    }
  }

  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const link of [...this.#links]) link.destroy();
      for (const s of this.#held) s.destroy();
      this.#held.clear();
      this.#server.close(() => resolve());
    });
    return this.#closing;
  }

  /** @internal called by a link once it is gone. */
  forget(link: Link): void {
    this.#links.delete(link);
  }

  #accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.#closing) {
      client.destroy();
      return;
    }
    if (this.#mode === 'drop') {
      if (this.#newConnections === 'refuse') {
        this.counts.refused++;
        client.resetAndDestroy();
        return;
      }
      this.counts.blackholed++;
      this.#held.add(client);
      client.on('close', () => this.#held.delete(client));
      client.resume(); // read and discard
      return;
    }
    this.counts.accepted++;
    const upstream = connect({ port: this.targetPort, host: this.targetHost });
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    this.#links.add(new Link(client, upstream, this));
  }
}
