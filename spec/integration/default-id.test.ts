import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freshNamespace, useRedis } from '../support/redis.js';

const redis = useRedis();
const run = promisify(execFile);

describe('the default node id', () => {
  it('lets two node:cluster workers of one host start without a nodeId, each under an id of its own', async () => {
    const script = fileURLToPath(new URL('../support/cluster-workers.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, redis(), freshNamespace('workers')], { timeout: 30_000 });
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { worker: number; id?: string; error?: string });
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.error)).toEqual([undefined, undefined]);
    expect(new Set(lines.map((l) => l.id)).size).toBe(2);
    for (const l of lines) expect(l.id).toBe(`${hostname()}-w${l.worker}`);
  }, 40_000);
});
