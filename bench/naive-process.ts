/**
 * The naive alternative a user might write instead of simple-gossip, as one
 * node per process: every write is a SET of the whole value plus one PUBLISH
 * on a channel every node shares; every node GETs the value on each notice.
 * It speaks the line protocol of spec/support/node-process.ts (ready line,
 * {id, cmd, args} in, {id, ok, value} out, 'data' lines while watching), for
 * the commands the benchmark uses: set, timedSet, get, version, watch, loop,
 * stop, with the same process.hrtime stamps on timedSet and 'data' lines.
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import type { LoopResult, LoopSpec, Request } from '../spec/support/node-process.js';

const o = JSON.parse(process.argv[2] ?? '{}') as { redis: string; namespace: string; nodeId: string };
const key = `${o.namespace}:naive:value`;
const channel = `${o.namespace}:naive:changed`;
const cmd = new Redis(o.redis);
const sub = new Redis(o.redis);
let data: unknown;
let version = 0;
let watchKey: string | undefined;
let minMark: number | undefined;

function write(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function set(value: unknown): Promise<void> {
  await cmd.set(key, JSON.stringify(value));
  await cmd.publish(channel, 'changed');
}

async function loop(spec: LoopSpec): Promise<LoopResult> {
  const { count, concurrency = 1, maxMs = 10_000, key: k = 'seq', payload = {}, from = 1 } = spec;
  const lat: number[] = [];
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < count && performance.now() - t0 < maxMs) {
      const start = performance.now();
      try {
        await set({ ...payload, [k]: from + next++ });
        lat.push(performance.now() - start);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return { done: lat.length, errors, ms: performance.now() - t0, lat };
}

async function run(req: Request): Promise<unknown> {
  const args = req.args ?? [];
  switch (req.cmd) {
    case 'set':
      return set(args[0]);
    case 'timedSet': {
      const sentAt = process.hrtime.bigint();
      await set(args[0]);
      return { sentAt: String(sentAt), doneAt: String(process.hrtime.bigint()) };
    }
    case 'get':
      return data;
    case 'version':
      return version;
    case 'watch':
      watchKey = typeof args[0] === 'string' ? args[0] : undefined;
      minMark = typeof args[1] === 'number' ? args[1] : undefined;
      return watchKey !== undefined;
    case 'loop':
      return loop(args[0] as LoopSpec);
    case 'stop':
      return undefined;
    default:
      throw new Error(`unknown command ${req.cmd}`);
  }
}

async function main(): Promise<void> {
  sub.on('message', () => {
    cmd.get(key).then(
      (text) => {
        if (text === null) return;
        data = JSON.parse(text);
        version++;
        if (watchKey === undefined) return;
        const at = process.hrtime.bigint();
        const mark = (data as Record<string, unknown>)[watchKey] ?? null;
        if (minMark !== undefined && typeof mark === 'number' && mark < minMark) return;
        write({ event: 'data', version, mark, at: String(at) });
      },
      () => undefined,
    );
  });
  await sub.subscribe(channel);
  await cmd.ping();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    const req = JSON.parse(line) as Request;
    void run(req)
      .then(
        (value) => write({ id: req.id, ok: true, value }),
        (err: unknown) => write({ id: req.id, ok: false, error: { code: 'error', message: String((err as Error).message ?? err) } }),
      )
      .then(() => {
        if (req.cmd === 'stop') process.exit(0);
      });
  });
  lines.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  write({ event: 'ready', nodeId: o.nodeId, pid: process.pid });
}

main().catch((err: unknown) => {
  write({ event: 'failed', error: { code: 'error', message: String(err) } });
  process.exit(1);
});
