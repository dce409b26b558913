/**
 * One node of the tour (demo/demo.ts), in a process of its own. Two ways to run it:
 *
 *   node --import tsx demo/node.ts --stdio '{"redis":…,"namespace":…,"nodeId":…}'
 *     a node driven over stdin/stdout, one JSON line each way (demo/protocol.ts),
 *     that serves its application (demo/app.ts) on a free port of 127.0.0.1,
 *     named in its 'ready' line; the tour spawns three of these.
 *   node --import tsx demo/node.ts
 *     a container entrypoint (docker-compose.yml): runs such a node as its child,
 *     with NODE_ID, REDIS_URL and DEMO_NAMESPACE from the environment, and relays
 *     its lines over Redis so a tour in another container can drive it, kill it
 *     with SIGKILL and start it again. It exits when its node stops for good.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Gossip } from '../lib/index.js';
import { serveApp } from './app.js';
import { clock, controlChannel, NODE_OPTIONS, outputChannel } from './protocol.js';
import type { Command, Control, HttpAnswer, Line, NodeSpec, Output, View } from './protocol.js';

const SELF = fileURLToPath(import.meta.url);

function emit(line: Line, then?: () => void): void {
  process.stdout.write(`${JSON.stringify(line)}\n`, then);
}

function viewOf(node: Gossip): View {
  return { id: node.id, version: node.version, leader: node.leader, nodes: node.nodes, data: node.get() };
}

/** The node itself, driven over stdin/stdout. */
async function runNode(spec: NodeSpec): Promise<void> {
  const node = await Gossip.start({ ...spec, ...NODE_OPTIONS });
  node.on('error', (err) => console.error(`[${spec.nodeId}] ${err.message}`));
  const app = await serveApp(node);

  let stopping: Promise<void> | undefined;
  const exit = (): Promise<void> =>
    (stopping ??= app
      .close()
      .then(() => node.stop())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`[${spec.nodeId}] stop failed:`, err);
          process.exit(1);
        },
      ));

  const run = async (c: Command): Promise<unknown> => {
    switch (c.cmd) {
      case 'view':
        return viewOf(node);
      case 'status':
        return node.status();
      case 'fetch': {
        const res = await fetch(app.url, { signal: AbortSignal.timeout(2_000) });
        return { status: res.status, body: await res.text(), at: clock() } satisfies HttpAnswer;
      }
      case 'stop':
        return undefined; // the reply goes out first, then the node stops
      case 'setCfg': {
        const t0 = clock();
        await node.setCfg(c.key, c.value);
        return { t0, t1: clock(), version: node.version, leader: node.leader };
      }
    }
  };

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (raw) => {
    let c: Command;
    try {
      c = JSON.parse(raw) as Command;
    } catch {
      console.error(`[${spec.nodeId}] not JSON: ${raw}`);
      return;
    }
    void run(c)
      .then(
        (value) => emit({ reply: c.id, ok: true, value }),
        (err: unknown) => emit({ reply: c.id, ok: false, message: String((err as Error).message ?? err) }),
      )
      .then(() => (c.cmd === 'stop' ? exit() : undefined));
  });
  // Whoever drove this node is gone or done with it.
  lines.on('close', () => void exit());
  process.on('SIGTERM', () => void exit());
  process.on('SIGINT', () => void exit());

  emit({ event: 'ready', pid: process.pid, bootMs: performance.now(), url: app.url, view: viewOf(node) });
}

/** Spawns `demo/node.ts --stdio` for `spec`: the tour does this locally, the supervisor in a container. */
export function spawnNode(spec: NodeSpec, stderr: 'pipe' | 'inherit'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', SELF, '--stdio', JSON.stringify(spec)], {
    stdio: ['pipe', 'pipe', stderr],
  });
}

/** The container entrypoint: keeps one node as its child, driven over Redis. */
async function supervise(): Promise<void> {
  const spec: NodeSpec = {
    redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    namespace: process.env.DEMO_NAMESPACE ?? 'demo',
    nodeId: process.env.NODE_ID ?? hostname(),
  };
  const say = (msg: string): void => console.log(`${spec.nodeId}: ${msg}`);
  const pub = new Redis(spec.redis);
  const sub = pub.duplicate();
  const out = (msg: Output): void => void pub.publish(outputChannel(spec.namespace), JSON.stringify(msg));

  let child: ChildProcess | undefined;
  let ready: Line | undefined;
  let killed = false;

  const quit = async (code: number): Promise<never> => {
    await Promise.allSettled([pub.quit(), sub.quit()]);
    process.exit(code);
  };

  const start = (): void => {
    if (child) {
      if (ready) out({ from: spec.nodeId, line: ready }); // a tour that came late learns it is up
      return;
    }
    ready = undefined;
    killed = false;
    const proc = spawnNode(spec, 'inherit');
    child = proc;
    proc.stdin!.on('error', () => undefined);
    createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (raw) => {
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        return;
      }
      if ('event' in line && line.event === 'ready') {
        ready = line;
        say(`running (pid ${line.pid}) at version ${line.view.version}, leader ${line.view.leader}, members ${line.view.nodes.join(', ')}`);
      }
      out({ from: spec.nodeId, line });
    });
    proc.once('exit', (code, signal) => {
      child = undefined;
      out({ from: spec.nodeId, exit: { code, signal } });
      if (killed) return say(`killed with ${signal ?? code}; waiting to be started again`);
      say(`stopped (${signal ?? `exit code ${code}`})`);
      void quit(code ?? 1);
    });
  };

  sub.on('message', (_channel: string, raw: string) => {
    let c: Control;
    try {
      c = JSON.parse(raw) as Control;
    } catch {
      return;
    }
    if (c.op === 'start') start();
    else if (c.op === 'kill' && child) {
      killed = true;
      child.kill('SIGKILL');
    } else if (c.op === 'send') child?.stdin!.write(`${JSON.stringify(c.command)}\n`);
  });
  await sub.subscribe(controlChannel(spec.namespace, spec.nodeId));

  const shutdown = (): void => {
    if (!child) return void quit(0);
    killed = false;
    child.kill('SIGTERM'); // the node stops cleanly; its exit ends this process
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  start();
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === '--stdio') {
    runNode(JSON.parse(process.argv[3] ?? '{}') as NodeSpec).catch((err: unknown) => {
      // The reason goes out before the process does.
      emit({ event: 'failed', message: String((err as Error).message ?? err) }, () => process.exit(1));
    });
  } else {
    await supervise();
  }
}
