import { Redis } from 'ioredis';
import { createInterface } from 'node:readline';
const [url, me, n] = process.argv.slice(2) as [string, string, string];
const N = Number(n);
const SCRIPT = `
redis.call('HSET', KEYS[1], 'data', ARGV[1])
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
for i = 1, tonumber(ARGV[3]) do redis.call('PUBLISH', ARGV[4] .. i, ARGV[2]) end
return version`;
const cmd = new Redis(url);
const sub = new Redis(url);
const payload = JSON.stringify({ a: 'x'.repeat(150) });
sub.on('message', (_c: string, m: string) => { const at = process.hrtime.bigint(); const s = m.slice(0, m.indexOf(' ')); process.stdout.write(`a ${s} ${at}\n`); });
await sub.subscribe(`{rot}:node:${me}`);
const sha = (await cmd.script('LOAD', SCRIPT)) as string;
createInterface({ input: process.stdin }).on('line', async (line) => {
  const seq = line.trim();
  const sent = process.hrtime.bigint();
  await cmd.evalsha(sha, 1, '{rot}:cluster', payload, `${seq} ${sent} ${payload}`, N, '{rot}:node:');
  const done = process.hrtime.bigint();
  process.stdout.write(`w ${seq} ${sent} ${done}\n`);
});
process.stdin.on('close', () => process.exit(0));
process.stdout.write('ready\n');
