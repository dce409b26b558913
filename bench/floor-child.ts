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
 *   design floor); it does what the design asks of every receiver at least
 *   ({@link decoded}), then its subscriber stamps; seq is the write id's
 *   first part (`<seq>-<random>`). A frame whose meta has `"ack":1` (the
 *   design floor's setSync) is acked as the library acks it: an `ack`
 *   envelope with the head held, published to the writer's channel.
 *
 *   tsx bench/floor-child.ts ioredis|raw|decode <redis-url> <channel>
 */
import { Redis } from 'ioredis';
import { DESIGN_ACKS, DESIGN_NAMESPACE } from './config.js';
import { rawSubscribe } from './resp.js';

const [client, url, channel] = process.argv.slice(2) as [string, string, string];

function report(seq: string): void {
  const at = process.hrtime.bigint();
  if (seq !== '0') process.stdout.write(`${seq} ${at}\n`);
}

function arrived(message: string): void {
  report(message.slice(0, message.indexOf(' ')));
}

/** Write ids kept against replays; the oldest are forgotten beyond this many. */
const KEPT_WRITE_IDS = 10_000;

/** What a receiver holds: the head it follows and its frozen data. */
let held: { n: number; h: string; c: string; w: string; data: Readonly<Record<string, unknown>> } = { n: 0, h: '', c: '', w: '', data: Object.freeze({}) };
/** The connection acks go out on (decode only). */
let pub: Redis | undefined;
const writeIds = new Set<string>();
/** A subscriber of the data, as a user's: it is handed each new version. */
let subscriber: (e: { readonly data: Readonly<Record<string, unknown>>; readonly version: number }) => void = () => undefined;

function deepFreeze(x: unknown): void {
  if (typeof x !== 'object' || x === null || Object.isFrozen(x)) return;
  Object.freeze(x);
  for (const v of Object.values(x)) deepFreeze(v);
}

const isString = (x: unknown): x is string => typeof x === 'string';

/**
 * A change frame (header, signature, meta, one value text '=' + JSON per key
 * of meta.set), handled as the design asks of every receiver at least: a
 * frame that is not a change of this namespace, of the right shape, is
 * dropped; a write id seen before is a replay; the change is taken only if
 * it follows the head held; every value parsed and
 * deep-frozen into a new frozen data object; the subscriber handed it.
 */
function decoded(frame: string): void {
  try {
    const lines = frame.split('\n');
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    if (header.v !== 2 || header.t !== 'change' || header.ns !== DESIGN_NAMESPACE) throw new Error('not a change of this namespace');
    if (!isString(header.c) || !isString(header.from) || !Number.isSafeInteger(header.n) || !isString(header.h) || !isString(header.p) || !Number.isSafeInteger(header.at)) {
      throw new Error('a malformed header');
    }
    const meta = JSON.parse(lines[2]!) as Record<string, unknown>;
    const set = meta.set;
    if (meta.op !== 'set' || !isString(meta.w) || typeof meta.ts !== 'number' || !Array.isArray(set) || !set.every(isString) || set.length !== lines.length - 3) {
      throw new Error('a malformed meta line');
    }
    if (writeIds.has(meta.w)) throw new Error(`a replay of ${meta.w}`);
    writeIds.add(meta.w);
    if (writeIds.size > KEPT_WRITE_IDS) writeIds.delete(writeIds.values().next().value!);
    const n = header.n as number;
    // A change that does not follow the head held makes a receiver read the state; the design floor's
    // chain starts again at each N (floor.ts designCluster), so it takes the frame as that read's answer.
    const follows = n === held.n + 1 && header.p === held.h;
    if (!follows && held.n !== 0 && n !== 2) throw new Error(`a gap: version ${n} after ${held.n}`);
    const data: Record<string, unknown> = {};
    for (let i = 0; i < set.length; i++) {
      const value: unknown = JSON.parse(lines[3 + i]!.slice(1));
      deepFreeze(value);
      data[set[i] as string] = value;
    }
    held = { n, h: header.h, c: header.c, w: meta.w, data: Object.freeze(data) };
    if (meta.ack === 1) {
      const ack = { v: 2, ns: DESIGN_NAMESPACE, type: 'ack', from: channel, to: header.from, ts: Date.now(), body: { cluster: held.c, version: n, hash: held.h } };
      void pub!.publish(DESIGN_ACKS, `=${JSON.stringify(ack)}`);
    }
    subscriber({ data: held.data, version: n });
  } catch (err) {
    process.stderr.write(`floor subscriber ${channel}: a frame dropped: ${(err as Error).message}\n`);
  }
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
  // The design floor's stamp is its subscriber's: seq is the write id's first part (`<seq>-<random>`).
  subscriber = () => report(held.w.slice(0, held.w.indexOf('-')));
  const onMessage = client === 'decode' ? decoded : arrived;
  const sub = new Redis(url);
  sub.on('message', (_channel: string, message: string) => onMessage(message));
  await sub.subscribe(channel);
  if (client === 'decode') {
    pub = new Redis(url);
    await pub.ping();
  }
}
process.stdout.write('ready\n');
