/** Redis's own view of a measurement: time spent per command (INFO commandstats deltas). */
import { Redis } from 'ioredis';

export type CommandStats = Map<string, { calls: number; usec: number }>;

export async function commandStats(redis: Redis): Promise<CommandStats> {
  const out: CommandStats = new Map();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/** µs per call of `cmd` between two readings (NaN when it was not called). */
export function usecPerCall(before: CommandStats, after: CommandStats, cmd = 'evalsha'): number {
  const a = after.get(cmd);
  const b = before.get(cmd) ?? { calls: 0, usec: 0 };
  if (!a || a.calls === b.calls) return Number.NaN;
  return (a.usec - b.usec) / (a.calls - b.calls);
}

/** Runs `fn` and answers Redis's µs per EVALSHA meanwhile, on a connection of its own. */
export async function scriptTimeDuring<T>(url: string, fn: () => Promise<T>): Promise<{ value: T; evalshaUs: number }> {
  const redis = new Redis(url);
  try {
    const before = await commandStats(redis);
    const value = await fn();
    return { value, evalshaUs: usecPerCall(before, await commandStats(redis)) };
  } finally {
    redis.disconnect();
  }
}
