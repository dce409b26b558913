import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/redis-server.js';
import { buildCli, runCli, RunningCli } from '../support/cli.js';
import type { CliResult, RunOptions } from '../support/cli.js';
import { eventually, useNodes } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';

const redis = useRedis();
const { cluster, namespace } = useNodes(redis);

beforeAll(() => buildCli(), 120_000);

let running: RunningCli[] = [];
afterEach(async () => {
  for (const r of running) r.kill('SIGKILL');
  await Promise.all(running.map((r) => r.exited));
  running = [];
});

/** Runs `simple-gossip --redis <this file's Redis> --namespace <this test's> ...args`. */
function cli(args: readonly string[], options?: RunOptions): Promise<CliResult> {
  return runCli(['--redis', redis(), '--namespace', namespace(), ...args], options);
}

function watchCli(args: readonly string[]): RunningCli {
  const r = new RunningCli(['--redis', redis(), '--namespace', namespace(), 'watch', '--interval', '50', ...args]);
  running.push(r);
  return r;
}

/** The one line a failing run writes on stderr. */
function reason(r: CliResult): string {
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('simple-gossip status', () => {
  it('prints every member with its version and exits 0 when all answer with one version', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.setSync({ on: true });
    const r = await cli(['status']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const v = nodes[0]!.version;
    expect(r.stdout).toContain(`leader a, version ${v}`);
    const rows = r.stdout.split('\n').filter((l) => /^[abc] /.test(l)).map((l) => l.split(/\s+/));
    expect(rows).toEqual([
      ['a', 'leader', String(v), 'ok'],
      ['b', 'member', String(v), 'ok'],
      ['c', 'member', String(v), 'ok'],
    ]);
    expect(r.stdout).toContain(`healthy: 3 members, all at version ${v}`);
  });

  it('--json prints one document shaped like node.status()', async () => {
    const nodes = await cluster(['a', 'b']);
    const r = await cli(['status', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      version: nodes[0]!.version,
      namespace: namespace(),
      leader: 'a',
      nodes: nodes[0]!.nodes,
      members: [
        { nodeId: 'a', leader: true, listening: true, version: nodes[0]!.version },
        { nodeId: 'b', leader: false, listening: true, version: nodes[0]!.version },
      ],
    });
  });

  it('exits 3 and names a stopped member, which is still a member', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[2]!.stop();
    const r = await cli(['status']);
    expect(r.code).toBe(3);
    expect(reason(r)).toBe('simple-gossip: not healthy: c does not answer');
    expect(r.stdout).toMatch(/^c\s+member\s+-\s+down \(not listening\)$/m);

    const j = await cli(['--json', 'status']);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, error: 'timeout', unresponsive: ['c'], leader: 'a' });
    expect(JSON.parse(j.stdout).nodes).toContain('c');
  });
});

describe('simple-gossip get', () => {
  it('prints the data as JSON, or one key of it (null when missing)', async () => {
    const nodes = await cluster(['a', 'b']);
    await nodes[0]!.setSync({ limit: 100, tags: ['x'] });
    const all = await cli(['get']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual({ limit: 100, tags: ['x'] });
    expect(await cli(['get', 'limit'])).toMatchObject({ code: 0, stdout: '100\n' });
    expect(await cli(['get', 'nope'])).toMatchObject({ code: 0, stdout: 'null\n' });
    const j = await cli(['get', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ version: nodes[0]!.version, data: { limit: 100, tags: ['x'] } });
    const k = await cli(['get', 'nope', '--json']);
    expect(JSON.parse(k.stdout)).toEqual({ version: nodes[0]!.version, key: 'nope', found: false, value: null });
  });
});

describe('simple-gossip set and set-cfg', () => {
  it('set writes through the leader, reaches every node and prints the new version', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const r = await cli(['set', '{"mode":"dark","limit":1}']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const version = Number(/^version (\d+) \(leader a\)$/.exec(r.stdout.trim())?.[1]);
    expect(version).toBeGreaterThan(0);
    await eventually(() => nodes.every((n) => n.version >= version && n.get()?.mode === 'dark'));
    for (const n of nodes) expect(n.get()).toEqual({ mode: 'dark', limit: 1 });
  });

  it('set - reads the data from stdin; --json prints the version as JSON', async () => {
    const nodes = await cluster(['a', 'b']);
    const r = await cli(['--json', 'set', '-'], { input: '[1, 2, 3]\n' });
    expect(r.code).toBe(0);
    const { ok, version, leader } = JSON.parse(r.stdout) as { ok: boolean; version: number; leader: string };
    expect({ ok, leader }).toEqual({ ok: true, leader: 'a' });
    await eventually(() => nodes.every((n) => n.version >= version));
    for (const n of nodes) expect(n.get()).toEqual([1, 2, 3]);
  });

  it('set-cfg sets one key on every node, keeping the others', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[0]!.setSync({ keep: true });
    const r = await cli(['set-cfg', 'limit', '200']);
    expect(r.code).toBe(0);
    const s = await cli(['set-cfg', 'mode', '"dark"']);
    expect(s.code).toBe(0);
    await eventually(() => nodes.every((n) => n.getCfg('mode') === 'dark'));
    for (const n of nodes) expect(n.get()).toEqual({ keep: true, limit: 200, mode: 'dark' });
  });

  it('a write the leader refuses exits 4 with its reason', async () => {
    const nodes = await cluster(['a', 'b']);
    await nodes[0]!.setSync(5);
    const r = await cli(['set-cfg', 'limit', '1']);
    expect(r.code).toBe(4);
    expect(reason(r)).toMatch(/^simple-gossip: write failed: .*object of keys/);
    expect(nodes[1]!.get()).toBe(5);
  });
});

describe('simple-gossip watch', () => {
  it('prints the data, then one line per change, and exits 0 on SIGINT', async () => {
    const nodes = await cluster(['a', 'b']);
    await nodes[0]!.setSync('zero');
    const w = watchCli(['--json']);
    await w.waitForLines(1);
    await nodes[0]!.set('one');
    await w.waitForLines(2);
    await nodes[1]!.set('two');
    const lines = await w.waitForLines(3);
    w.kill('SIGINT');
    expect((await w.exited).code).toBe(0);
    const seen = lines.map((l) => JSON.parse(l) as { version: number; data: unknown });
    expect(seen.map((e) => e.data)).toEqual(['zero', 'one', 'two']);
    expect(seen[2]!.version).toBe(nodes[1]!.version);
    expect(seen[0]!.version).toBeLessThan(seen[1]!.version);
  });

  it('skips changes that leave the data as it was, and exits 0 on SIGTERM', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[0]!.setSync({ n: 1 });
    const w = watchCli([]);
    await w.waitForLines(1);
    await nodes[0]!.leave('c'); // a new version, the same data
    await nodes[0]!.setCfg('n', 2);
    const lines = await w.waitForLines(2);
    w.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} version \d+ \{"n":1\}$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} version \d+ \{"n":2\}$/);
    expect(w.lines).toHaveLength(2);
  });
});

describe('simple-gossip nodes', () => {
  it('lists the members, the leader marked, each live or down', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    await nodes[1]!.stop();
    const r = await cli(['nodes']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => l.split(/\s+/))).toEqual([
      ['NODE', 'ROLE', 'LIVE'],
      ['a', 'leader', 'live'],
      ['b', 'member', 'down'],
      ['c', 'member', 'live'],
    ]);
    const j = await cli(['nodes', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({
      leader: 'a',
      nodes: [
        { nodeId: 'a', leader: true, member: true, live: true },
        { nodeId: 'b', leader: false, member: true, live: false },
        { nodeId: 'c', leader: false, member: true, live: true },
      ],
    });
  });
});

describe('failures scripts can tell apart', () => {
  it('bad usage exits 1 with a one-line reason, before connecting to anything', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const runs = await Promise.all([
      ['statsu'],
      ['set', '{not json'],
      ['set-cfg', 'mode', 'dark'],
      ['set-cfg', 'only-a-key'],
      ['get', 'a', 'b'],
      ['--timeout', 'soon', 'status'],
      ['--namespace', 'has space', 'status'],
      ['--no-such-option', 'status'],
    ].map((args) => runCli(['--redis', closed, ...args])));
    for (const r of runs) {
      expect(r.code).toBe(1);
      expect(reason(r)).toMatch(/^simple-gossip: /);
    }
    expect(reason(runs[0]!)).toContain("unknown command 'statsu'");
    expect(reason(runs[2]!)).toContain('not JSON');
  });

  it('--help exits 0; no command at all exits 1', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: simple-gossip');
    const none = await runCli([]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n').at(-1)).toBe('simple-gossip: missing command: status, get, set, set-cfg, watch, nodes');
  });

  it('a Redis nobody listens on exits 2', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = await runCli(['--redis', url, 'status']);
    expect(r.code).toBe(2);
    expect(reason(r)).toBe(`simple-gossip: cannot reach Redis at ${url}: connect ECONNREFUSED 127.0.0.1:${new URL(url).port}`);
  });

  it('a namespace with no live member exits 2, for reads and writes alike', async () => {
    for (const args of [['status'], ['get'], ['set', '1'], ['nodes'], ['watch']]) {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(reason(r)).toBe(`simple-gossip: no live member in namespace "${namespace()}" on ${redis()}`);
    }
  });

  it('a cluster with a secret answers --secret or SIMPLE_GOSSIP_SECRET, and nothing else', async () => {
    await cluster(['a', 'b'], { secret: 's3cret' });
    // The first secret signs, any of them is accepted (rotation).
    expect((await cli(['status', '--secret', 's3cret', '--secret', 'old'])).code).toBe(0);
    expect((await cli(['status'], { env: { SIMPLE_GOSSIP_SECRET: 's3cret' } })).code).toBe(0);
    const r = await cli(['status', '--timeout', '300']);
    expect(r.code).toBe(2);
    expect(reason(r)).toContain('does the cluster need a --secret?');
  });
});
