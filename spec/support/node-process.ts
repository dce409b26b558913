/**
 * One Gossip node in a process of its own, for tests that kill processes for
 * real. Run as `node --import tsx spec/support/node-process.ts '<json options>'`
 * (or with the options in SG_NODE_OPTIONS); {@link ChildNode} in child.ts
 * does that for you.
 *
 * Protocol, one JSON object per line:
 *   stdout, once started:  {"event":"ready","nodeId":…,"pid":…}
 *   stdin:                 {"id":1,"cmd":"set","args":[…]}
 *   stdout:                {"id":1,"ok":true,"value":…} | {"id":1,"ok":false,"error":{"code":…,"message":…}}
 * Commands: set, setSync, get, join, leave, status, version, nodes, leader, stop.
 * The process stops its node and exits on `stop`, on SIGTERM/SIGINT, and when
 * stdin closes (its parent went away). Diagnostics go to stderr only.
 */
import { createInterface } from 'node:readline';
import { Gossip } from '../../lib/index.js';
import type { GossipOptions, Logger } from '../../lib/index.js';

export interface NodeProcessOptions {
  readonly redis: string;
  readonly namespace: string;
  readonly nodeId: string;
  readonly rpcTimeoutMs?: number;
  readonly gossipIntervalMs?: number;
  readonly statusTimeoutMs?: number;
  /** Log the node's diagnostics to stderr. @default false */
  readonly verbose?: boolean;
}

export type Command = 'set' | 'setSync' | 'get' | 'join' | 'leave' | 'status' | 'version' | 'nodes' | 'leader' | 'stop';

export interface Request {
  readonly id: number;
  readonly cmd: Command;
  readonly args?: readonly unknown[];
}

export type Response =
  | { readonly id: number; readonly ok: true; readonly value?: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export type ReadyLine = { readonly event: 'ready'; readonly nodeId: string; readonly pid: number };

function readOptions(): NodeProcessOptions {
  const raw = process.argv[2] ?? process.env.SG_NODE_OPTIONS;
  if (!raw) throw new Error('node-process: pass the node options as JSON in argv[2] or SG_NODE_OPTIONS');
  return JSON.parse(raw) as NodeProcessOptions;
}

function write(line: Response | ReadyLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const stderrLogger: Logger = {
  debug: (...a) => console.error('[debug]', ...a),
  info: (...a) => console.error('[info]', ...a),
  warn: (...a) => console.error('[warn]', ...a),
  error: (...a) => console.error('[error]', ...a),
};

async function main(): Promise<void> {
  const o = readOptions();
  const options: GossipOptions = {
    redis: o.redis,
    namespace: o.namespace,
    nodeId: o.nodeId,
    rpcTimeoutMs: o.rpcTimeoutMs,
    gossipIntervalMs: o.gossipIntervalMs,
    statusTimeoutMs: o.statusTimeoutMs,
    ...(o.verbose ? { logger: stderrLogger } : {}),
  };
  const node = await Gossip.start(options);
  node.on('error', (err) => console.error(`[node ${o.nodeId}] ${err.message}`));

  let exiting: Promise<void> | undefined;
  const exit = (code: number): Promise<void> =>
    (exiting ??= node.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        console.error('node-process: stop failed', err);
        process.exit(1);
      },
    ));

  const run = async (cmd: Command, args: readonly unknown[]): Promise<unknown> => {
    switch (cmd) {
      case 'set':
        return node.set(args[0]);
      case 'setSync':
        return node.setSync(args[0], (args[1] ?? {}) as { timeoutMs?: number });
      case 'get':
        return node.get();
      case 'join':
        return node.join(String(args[0]));
      case 'leave':
        return node.leave(String(args[0]));
      case 'status':
        return node.status();
      case 'version':
        return node.version;
      case 'nodes':
        return node.nodes;
      case 'leader':
        return node.leader;
      case 'stop':
        await node.stop();
        return undefined;
      default:
        throw Object.assign(new Error(`unknown command ${JSON.stringify(cmd)}`), { code: 'unknown_command' });
    }
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      console.error(`node-process: not JSON: ${line}`);
      return;
    }
    void run(req.cmd, req.args ?? []).then(
      (value) => write({ id: req.id, ok: true, value }),
      (err: unknown) => {
        const e = err as { code?: unknown; message?: unknown };
        write({ id: req.id, ok: false, error: { code: typeof e.code === 'string' ? e.code : 'error', message: String(e.message ?? err) } });
      },
    ).then(() => {
      // The reply is written before the process goes.
      if (req.cmd === 'stop') void exit(0);
    });
  });
  // No more commands can come: the parent is gone or done with us.
  lines.on('close', () => void exit(0));
  process.on('SIGTERM', () => void exit(0));
  process.on('SIGINT', () => void exit(0));

  write({ event: 'ready', nodeId: node.id, pid: process.pid });
}

main().catch((err: unknown) => {
  console.error('node-process: could not start:', err);
  process.exit(1);
});
