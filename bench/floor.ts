/**
 * The physical floor on this machine, in the same run: one Redis pub/sub hop
 * between two idle processes (the 0.05–0.1 ms), and a PING round
 * trip. Messages go 2 ms apart, like the convergence samples, so each one
 * wakes an idle process — as every hop of a write does.
 *
 *   tsx bench/floor.ts listen <redis-url> <channel>   (the child side)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Ctx } from './results.js';
import { sleep, summarize } from './stats.js';

const wallNow = (): number => performance.timeOrigin + performance.now();

/** Measures the floor; a child process subscribes, this process publishes. */
export async function floor(ctx: Ctx, samples = 300): Promise<void> {
  const channel = `bench-floor-${process.pid}`;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'listen', ctx.redisUrl, channel], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const got: number[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  lines.on('line', (line) => (line === 'ready' ? ready() : got.push(Number(line))));
  const redis = new Redis(ctx.redisUrl);
  try {
    await isReady;
    for (let i = 0; i < samples; i++) {
      await sleep(2);
      await redis.publish(channel, String(wallNow()));
    }
    const pings: number[] = [];
    for (let i = 0; i < samples; i++) {
      await sleep(2);
      const t0 = performance.now();
      await redis.ping();
      pings.push(performance.now() - t0);
    }
    await sleep(50);
    ctx.results.floor = { pubsubHopMs: summarize(got), pingRoundTripMs: summarize(pings) };
  } finally {
    redis.disconnect();
    child.kill();
  }
}

if (process.argv[2] === 'listen') {
  const [url, channel] = process.argv.slice(3) as [string, string];
  const sub = new Redis(url);
  sub.on('message', (_c, sent: string) => process.stdout.write(`${wallNow() - Number(sent)}\n`));
  await sub.subscribe(channel);
  process.stdout.write('ready\n');
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
