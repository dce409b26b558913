import { InvalidArgumentError } from 'commander';
import { CliError, EXIT } from './exit.js';

/** The options every command takes, as commander hands them over. */
export interface GlobalOptions {
  /** The default or REDIS_URL (one URL), or every `--redis` given. */
  readonly redis: string | readonly string[];
  /** The `--redis` URLs are startup nodes of a Redis Cluster. */
  readonly cluster?: boolean;
  readonly namespace: string;
  /** From each `--secret`, else from SIMPLE_GOSSIP_SECRET. */
  readonly secret?: readonly string[];
  readonly timeout: number;
  readonly json?: boolean;
}

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
export const DEFAULT_NAMESPACE = 'simple_gossip';
/** How long to wait for Redis and for each member's answer. */
export const DEFAULT_TIMEOUT_MS = 3_000;
export const SECRET_ENV = 'SIMPLE_GOSSIP_SECRET';
/** `purge`: how long a node key or cluster must have been silent before it counts as unused. */
export const DEFAULT_PURGE_AGE_MS = 24 * 3_600_000;

/** The secrets to sign with (commander reads SIMPLE_GOSSIP_SECRET when no `--secret` is given). */
export function secretsOf(g: GlobalOptions): string[] | undefined {
  return g.secret && g.secret.length > 0 ? [...g.secret] : undefined;
}

/** Commander parser for a positive whole number of milliseconds. */
export function parseMs(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a whole number of milliseconds, at least 1.');
  }
  return n;
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Commander parser for a duration: whole milliseconds (`1500`), or a number and a unit (`90s`, `30m`, `12h`, `7d`). */
export function parseDuration(value: string): number {
  const m = /^(\d+)\s*(ms|s|m|min|h|d)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * UNITS[m[2] ?? 'ms']! : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('expected a duration: whole milliseconds, or a number and ms, s, m, h or d (e.g. 12h).');
  }
  return n;
}

/** Commander parser for `--redis`: repeatable, and the first one given replaces the default (or REDIS_URL). */
export function collectUrls(value: string, previous: string | readonly string[] | undefined): string[] {
  return Array.isArray(previous) ? [...(previous as readonly string[]), value] : [value];
}

/** Commander parser for a repeatable option. */
export function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A command-line value as JSON; a usage error that says how to write a string otherwise. */
export function parseJsonArg(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(EXIT.usage, `${what} is not JSON: ${JSON.stringify(text)} (quote a string: '"${text}"')`);
  }
}

/** All of stdin, for `set -`. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
