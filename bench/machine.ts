/** What the benchmark ran on: printed with the table and stored with the JSON. */
import { execSync } from 'node:child_process';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { Redis } from 'ioredis';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly redisSource: string;
  /** 1-minute load average when the run started (other work on the machine shows here). */
  readonly loadAtStart: number;
  readonly gitCommit: string | undefined;
}

export async function describeMachine(redisUrl: string, redisSource: string): Promise<Machine> {
  const c = cpus();
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redis: string;
  try {
    await client.connect();
    const info = await client.info('server');
    redis = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
  let gitCommit: string | undefined;
  try {
    gitCommit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    const dirty = execSync('git status --porcelain -- lib', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    if (dirty) gitCommit += ' (lib/ modified)';
  } catch {
    gitCommit = undefined;
  }
  return {
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    redis,
    redisSource,
    loadAtStart: loadavg()[0]!,
    gitCommit,
  };
}

export function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
