/**
 * The application each node of the tour (demo/node.ts) serves: a tiny HTTP
 * endpoint on 127.0.0.1, on a port of its own, whose answer follows the
 * config flag {@link FLAG}. Every request reads the flag from the node's
 * local, frozen copy of the config: no Redis round trip, no cache to expire.
 *
 *   GET /  →  200 {"node":"node-1","checkout":"classic"}   (newCheckout unset or false)
 *             200 {"node":"node-1","checkout":"new"}       (newCheckout: true)
 *   other  →  404 {"error":"not found"}
 */
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gossip } from '../lib/index.js';

/** The feature flag the application follows. */
export const FLAG = 'newCheckout';

/** What `GET /` answers. */
export interface Answer {
  readonly node: string;
  readonly checkout: 'new' | 'classic';
}

/** The answer of `node` right now. */
export function answerOf(node: Gossip): Answer {
  return { node: node.id, checkout: node.getCfg(FLAG) === true ? 'new' : 'classic' };
}

export interface App {
  /** Where it listens: `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Stops listening and drops open connections (fetch keeps them alive). */
  close(): Promise<void>;
}

/** Serves {@link answerOf} on a free port of 127.0.0.1. */
export async function serveApp(node: Gossip): Promise<App> {
  const server = createServer((req, res) => {
    try {
      if (req.method === 'GET' && req.url === '/') reply(res, 200, answerOf(node));
      else reply(res, 404, { error: 'not found' });
    } catch (err) {
      reply(res, 500, { error: String((err as Error).message ?? err) });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
