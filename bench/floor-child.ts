/**
 * One subscriber node of the floor (floor.ts), in its own process. It
 * subscribes to its channel with ioredis or with a bare RESP socket
 * (resp.ts), prints `ready`, then `<seq> <arrival>` for each message whose
 * seq (its first word) is not 0, the arrival being process.hrtime.bigint():
 * CLOCK_MONOTONIC, one clock for every process on Linux. A `cpu` line on
 * stdin makes it print `cpu <user+system µs since it started>`. It exits
 * when its stdin closes (its parent gone).
 *
 *   tsx bench/floor-child.ts ioredis|raw <redis-url> <channel>
 */
import { Redis } from 'ioredis';
import { rawSubscribe } from './resp.js';

const [client, url, channel] = process.argv.slice(2) as [string, string, string];

function arrived(message: string): void {
  const at = process.hrtime.bigint();
  const seq = message.slice(0, message.indexOf(' '));
  if (seq !== '0') process.stdout.write(`${seq} ${at}\n`);
}

process.stdin.on('close', () => process.exit(0));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n')) {
    if (line.trim() !== 'cpu') continue;
    const u = process.cpuUsage();
    process.stdout.write(`cpu ${u.user + u.system}\n`);
  }
});
if (client === 'raw') {
  await rawSubscribe(url, channel, arrived);
} else {
  const sub = new Redis(url);
  sub.on('message', (_channel: string, message: string) => arrived(message));
  await sub.subscribe(channel);
}
process.stdout.write('ready\n');
