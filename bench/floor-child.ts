/**
 * One subscriber node of the floor (floor.ts), in its own process. It
 * subscribes to its channel with ioredis or with a bare RESP socket
 * (resp.ts), prints `ready`, then `<seq> <arrival>` for each message whose
 * seq is not 0, the arrival being process.hrtime.bigint(): CLOCK_MONOTONIC,
 * one clock for every process on Linux. A `cpu` line on stdin makes it
 * print `cpu <user+system µs since it started>`. It exits when its stdin
 * closes (its parent gone).
 *
 * - ioredis, raw: the message is the script floor's `<seq> <send stamp> <payload>`;
 *   seq is its first word;
 * - decode (ioredis): the message is a change frame of commit-2.lua (the
 *   design floor); it does what any receiver holding a frozen decoded copy
 *   must do at least (its lines split, the header and meta lines parsed,
 *   each value parsed into one object, deep-frozen), then stamps; seq is
 *   the write id's first part (`<seq>-<random>`).
 *
 *   tsx bench/floor-child.ts ioredis|raw|decode <redis-url> <channel>
 */
import { Redis } from 'ioredis';
import { rawSubscribe } from './resp.js';

const [client, url, channel] = process.argv.slice(2) as [string, string, string];

function report(seq: string): void {
  const at = process.hrtime.bigint();
  if (seq !== '0') process.stdout.write(`${seq} ${at}\n`);
}

function arrived(message: string): void {
  report(message.slice(0, message.indexOf(' ')));
}

/** The last change held, as a receiver would hold it (so the decoding is not dead code; never read). */
let _held: { readonly header: unknown; readonly data: Readonly<Record<string, unknown>> } | undefined;

function deepFreeze(x: unknown): void {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x)) return;
  Object.freeze(x);
  for (const v of Object.values(x)) deepFreeze(v);
}

/** A change frame: header, signature, meta, one value text ('=' + JSON) per key of meta.set. */
function decoded(frame: string): void {
  let seq: string;
  try {
    const lines = frame.split('\n');
    const header: unknown = JSON.parse(lines[0]!);
    const meta = JSON.parse(lines[2]!) as { w: string; set: string[] };
    const data: Record<string, unknown> = {};
    for (let i = 0; i < meta.set.length; i++) data[meta.set[i]!] = JSON.parse(lines[3 + i]!.slice(1));
    deepFreeze(data);
    _held = Object.freeze({ header, data });
    seq = meta.w.slice(0, meta.w.indexOf('-'));
  } catch (err) {
    process.stderr.write(`floor subscriber ${channel}: a frame that does not decode: ${(err as Error).message}\n`);
    return;
  }
  report(seq);
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
  const onMessage = client === 'decode' ? decoded : arrived;
  const sub = new Redis(url);
  sub.on('message', (_channel: string, message: string) => onMessage(message));
  await sub.subscribe(channel);
}
process.stdout.write('ready\n');
