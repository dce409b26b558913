/**
 * Extra commands of node-process.ts, for the fault tests that need more than
 * plain writes: a counting updater (exactly-once ledgers), big values built
 * inside the child (no megabytes on its stdin), a short digest of the data
 * (no megabytes on its stdout), 'error' events as lines, and a shifted clock.
 *
 *   count [tag, {stallMs?, stallAfterMs?}]  set(updater) with {...data, n: n + 1, tags: [...tags, tag]};
 *                                           with stallMs, the event loop busy-waits that long, right
 *                                           after the call (or stallAfterMs later); answers the version
 *   setBlob ['patch'|'set', seq, bytes]     'patch': patchCfg({w<seq>: seq, last: seq, blob: <bytes chars>});
 *                                           'set': set(<a string of exactly bytes chars, starting "<seq>:">);
 *                                           answers the version
 *   digest                                  {version, cluster, leader, nodes, data}, strings longer than
 *                                           64 chars given as "<length>|<first 16 chars>"
 *   watchErrors                             from then on prints {"event":"error","code":…,"message":…} on
 *                                           every 'error' event, and {"event":"unhandledRejection",…}
 *                                           before the process exits on one (code 70)
 *   clockOffset [ms]                        Date.now() is ms off from now on (see {@link shiftClock})
 *   now                                     answers Date.now() as this process sees it
 *   alive                                   answers the pid: the process runs and its inbox answers
 */
import type { Gossip } from '../../lib/index.js';

export const EXTRA_COMMANDS = ['count', 'setBlob', 'digest', 'watchErrors', 'clockOffset', 'now', 'alive'] as const;
export type ExtraCommand = (typeof EXTRA_COMMANDS)[number];

export function isExtraCommand(cmd: string): cmd is ExtraCommand {
  return (EXTRA_COMMANDS as readonly string[]).includes(cmd);
}

/** What `count` writes: how many counting calls were applied, and each one's tag in order. */
export interface Counted {
  readonly n: number;
  readonly tags: readonly string[];
}

export interface CountOptions {
  /** Busy-wait this long (the event loop stalls) after the call. */
  readonly stallMs?: number;
  /** Start the busy-wait this long after the call (default: at once, before the call yields). */
  readonly stallAfterMs?: number;
}

/** What `digest` answers. */
export interface Digest {
  readonly version: number;
  readonly cluster: string;
  readonly leader: string;
  readonly nodes: readonly string[];
  readonly data: unknown;
}

const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
let patched = false;

/** Makes this process's Date.now() run `ms` ahead (negative: behind) of the real clock. */
export function shiftClock(ms: number): void {
  clockOffsetMs = ms;
  if (patched) return;
  patched = true;
  Date.now = () => realNow() + clockOffsetMs;
}

function busyWait(ms: number): void {
  const until = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
  while (process.hrtime.bigint() < until) {
    // the event loop is stalled on purpose
  }
}

function line(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** A string of exactly `bytes` characters (ASCII: as many bytes) that starts with `<seq>:`. */
export function blob(seq: number, bytes: number): string {
  const head = `${seq}:`;
  return head + 'x'.repeat(Math.max(0, bytes - head.length));
}

function abbreviate(x: unknown): unknown {
  if (typeof x === 'string') return x.length > 64 ? `${x.length}|${x.slice(0, 16)}` : x;
  if (Array.isArray(x)) return x.map(abbreviate);
  if (typeof x === 'object' && x !== null) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, abbreviate(v)]));
  return x;
}

let watchingErrors = false;

export async function runExtra(node: Gossip, cmd: ExtraCommand, args: readonly unknown[]): Promise<unknown> {
  switch (cmd) {
    case 'count': {
      const tag = String(args[0]);
      const o = (args[1] ?? {}) as CountOptions;
      const done = node.set((cur: Partial<Counted> | undefined) => ({
        change: { ...cur, n: (cur?.n ?? 0) + 1, tags: [...(cur?.tags ?? []), tag] },
      }));
      if (o.stallMs) {
        if (o.stallAfterMs) setTimeout(() => busyWait(o.stallMs!), o.stallAfterMs);
        else busyWait(o.stallMs);
      }
      await done;
      return node.version;
    }
    case 'setBlob': {
      const [mode, seq, bytes] = args as ['patch' | 'set', number, number];
      if (mode === 'patch') await node.patchCfg({ [`w${seq}`]: seq, last: seq, blob: blob(seq, bytes) });
      else await node.set(blob(seq, bytes));
      return node.version;
    }
    case 'digest': {
      const d: Digest = { version: node.version, cluster: node.rumor.cluster, leader: node.leader, nodes: node.nodes, data: abbreviate(node.get()) };
      return d;
    }
    case 'watchErrors':
      if (!watchingErrors) {
        watchingErrors = true;
        node.on('error', (err: Error & { code?: unknown }) => line({ event: 'error', code: typeof err.code === 'string' ? err.code : 'error', message: err.message }));
        process.on('unhandledRejection', (reason) => {
          line({ event: 'unhandledRejection', message: String((reason as Error)?.stack ?? reason) });
          console.error('node-process: unhandled rejection', reason);
          process.exit(70);
        });
      }
      return true;
    case 'clockOffset':
      shiftClock(Number(args[0]));
      return clockOffsetMs;
    case 'now':
      return Date.now();
    case 'alive':
      return process.pid;
  }
}
