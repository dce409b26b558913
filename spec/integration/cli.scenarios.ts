/**
 * The CLI's tests, written once and run against each backend
 * (cli.standalone.test.ts, cli.cluster.test.ts): the real, built binary
 * against nodes on a standalone Redis, or on a local Redis Cluster, which the
 * CLI reaches with `--cluster` and its masters as startup nodes.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../lib/transport/keys.js';
import { freePort } from '../../tools/redis-server.js';
import type { Backend } from '../support/backends.js';
import { buildCli, runCli, RunningCli } from '../support/cli.js';
import type { CliResult, RunOptions } from '../support/cli.js';
import { eventually, useNodes } from '../support/cluster.js';

export function cliScenarios(backend: Backend): void {
  const { start, cluster, namespace } = useNodes(() => backend.connection());
  const onCluster = backend.name === 'cluster';

  beforeAll(() => buildCli(), 120_000);

  let running: RunningCli[] = [];
  afterEach(async () => {
    for (const r of running) r.kill('SIGKILL');
    await Promise.all(running.map((r) => r.exited));
    running = [];
  });

  /** How the CLI is pointed at `urls`: `--redis <url>`, or `--cluster` and each URL a startup node. */
  function redisArgs(urls: readonly string[] = backend.urls()): string[] {
    return [...(onCluster ? ['--cluster'] : []), ...urls.flatMap((u) => ['--redis', u])];
  }

  /** What the CLI calls this backend in its messages. */
  function where(urls: readonly string[] = backend.urls()): string {
    return onCluster ? `the Redis Cluster at ${urls.join(', ')}` : urls[0]!;
  }

  /** Runs `simple-gossip <this backend> --namespace <this test's> ...args`. */
  function cli(args: readonly string[], options?: RunOptions): Promise<CliResult> {
    return runCli([...redisArgs(), '--namespace', namespace(), ...args], options);
  }

  function watchCli(args: readonly string[]): RunningCli {
    const r = new RunningCli([...redisArgs(), '--namespace', namespace(), 'watch', '--interval', '50', ...args]);
    running.push(r);
    return r;
  }

  /** The one line a failing run writes on stderr. */
  function reason(r: CliResult): string {
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0]!;
  }

  describe(`the CLI on ${backend.name} Redis`, () => {
    describe('simple-gossip status', () => {
      it('prints every member with its version and exits 0 when all answer with one version', async () => {
        const nodes = await cluster(['a', 'b', 'c']);
        await nodes[1]!.setSync({ on: true });
        const r = await cli(['status']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const v = nodes[0]!.version;
        expect(r.stdout).toContain(`leader a, version ${v}`);
        const rows = r.stdout
          .split('\n')
          .filter((l) => /^[abc] /.test(l))
          .map((l) => l.split(/\s+/));
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
        expect((JSON.parse(j.stdout) as { nodes: string[] }).nodes).toContain('c');
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
      it('set commits once, reaches every node and prints the new version', async () => {
        const nodes = await cluster<{ mode?: string; limit?: number }>(['a', 'b', 'c']);
        const r = await cli(['set', '{"mode":"dark","limit":1}']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const version = Number(/^version (\d+)$/.exec(r.stdout.trim())?.[1]);
        expect(version).toBeGreaterThan(0);
        await eventually(() => nodes.every((n) => n.version >= version && n.get()?.mode === 'dark'));
        for (const n of nodes) expect(n.get()).toEqual({ mode: 'dark', limit: 1 });
      });

      it('set - reads the data from stdin; --json prints the version as JSON', async () => {
        const nodes = await cluster(['a', 'b']);
        const r = await cli(['--json', 'set', '-'], { input: '[1, 2, 3]\n' });
        expect(r.code).toBe(0);
        const { ok, version } = JSON.parse(r.stdout) as { ok: boolean; version: number };
        expect(ok).toBe(true);
        expect(version).toBeGreaterThan(nodes[0]!.version - 1);
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

      it('delete-cfg removes one key on every node, keeping the others; a key that is not there changes nothing', async () => {
        const nodes = await cluster(['a', 'b', 'c']);
        await nodes[0]!.setSync({ keep: true, limit: 100 });
        const r = await cli(['delete-cfg', 'limit']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const version = Number(/^version (\d+)$/.exec(r.stdout.trim())?.[1]);
        await eventually(() => nodes.every((n) => n.version >= version && n.getCfg('limit', 'gone') === 'gone'));
        for (const n of nodes) expect(n.get()).toEqual({ keep: true });

        const again = await cli(['--json', 'delete-cfg', 'limit']);
        expect(again.code).toBe(0);
        expect(JSON.parse(again.stdout)).toEqual({ ok: true, version });
        for (const n of nodes) expect(n.version).toBe(version);
      });

      it('a write the cluster refuses exits 4 with its reason', async () => {
        const nodes = await cluster(['a', 'b']);
        await nodes[0]!.setSync(5);
        const runs = await Promise.all([cli(['set-cfg', 'limit', '1']), cli(['delete-cfg', 'limit'])]);
        for (const r of runs) {
          expect(r.code).toBe(4);
          expect(reason(r)).toMatch(/^simple-gossip: write failed: .*object of keys/);
        }
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
        expect(
          r.stdout
            .trim()
            .split('\n')
            .map((l) => l.split(/\s+/)),
        ).toEqual([
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

    describe('simple-gossip evict', () => {
      it('removes a member that is gone: the others stop waiting for it, and status is healthy again', async () => {
        const nodes = await cluster(['a', 'b', 'c']);
        await nodes[0]!.setSync({ n: 1 });
        await nodes[2]!.stop(); // c stays a member
        expect((await cli(['status'])).code).toBe(3);

        const r = await cli(['evict', 'c']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const m = /^version (\d+): c evicted \(leader a, members (.+)\)$/.exec(r.stdout.trim());
        expect(m, r.stdout).not.toBeNull();
        expect(m![2]!.split(', ').sort()).toEqual(['a', 'b']);
        const version = Number(m![1]);
        await eventually(() => nodes.slice(0, 2).every((n) => n.version >= version && n.nodes.length === 2));
        for (const n of nodes.slice(0, 2)) expect([...n.nodes].sort()).toEqual(['a', 'b']);
        expect(nodes[1]!.get()).toEqual({ n: 1 });
        // setSync waits for the members, and c is none any more.
        await nodes[1]!.setSync({ n: 2 }, { timeoutMs: 2_000 });
        const healthy = await cli(['status']);
        expect(healthy.code, healthy.stderr).toBe(0);
        expect(healthy.stdout).toContain('healthy: 2 members');
      });

      it('a live member evicted goes on alone with its data, and the leader moves when it led', async () => {
        const nodes = await cluster(['a', 'b', 'c']);
        await nodes[1]!.setSync({ kept: 'everywhere' });
        const r = await cli(['--json', 'evict', 'a']);
        expect(r.code, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout) as { ok: boolean; version: number; evicted: string; leader: string; nodes: string[] };
        expect(out).toMatchObject({ ok: true, evicted: 'a' });
        expect(['b', 'c']).toContain(out.leader);
        expect([...out.nodes].sort()).toEqual(['b', 'c']);
        const [a, b, c] = nodes;
        await eventually(() => b!.nodes.length === 2 && c!.nodes.length === 2 && a!.nodes.length === 1);
        expect(b!.leader).toBe(out.leader);
        expect(c!.leader).toBe(out.leader);
        expect(a!.nodes).toEqual(['a']);
        expect(a!.leader).toBe('a');
        expect(a!.get()).toEqual({ kept: 'everywhere' });
        expect(a!.version).toBeGreaterThan(out.version - 1);
      });

      it('a node that is not a member, or the only member left, exits 4 and changes nothing', async () => {
        const nodes = await cluster(['a', 'b']);
        const version = nodes[0]!.version;
        const stranger = await cli(['evict', 'zz']);
        expect(stranger.code).toBe(4);
        expect(reason(stranger)).toMatch(/^simple-gossip: evict failed: zz is not a member of cluster \S+ \(members: (a, b|b, a)\)$/);
        expect(nodes[0]!.version).toBe(version);

        const evicted = await cli(['evict', 'a']); // a goes on alone; b's cluster (the older) is the main one
        expect(evicted.code, evicted.stderr).toBe(0);
        await eventually(() => nodes[1]!.nodes.length === 1 && nodes[0]!.nodes.length === 1);
        const only = await cli(['evict', 'b']);
        expect(only.code).toBe(4);
        expect(reason(only)).toMatch(/^simple-gossip: evict failed: b is the only member of cluster \S+$/);
        expect(nodes[1]!.nodes).toEqual(['b']);
      });
    });

    describe('simple-gossip purge', () => {
      const fast = { gossipIntervalMs: 100 };
      const keys = () => new Keys(namespace(), true);
      const exists = async (key: string) => (await backend.probe().exists(key)) === 1;
      type Purged = {
        dryRun: boolean;
        purged: { nodeKeys: Array<{ id: string; cluster: string }>; clusters: Array<{ id: string; nodes: string[] }> };
        kept: { nodeKeys: string[]; clusters: string[] };
      };

      it('deletes the node keys and clusters nobody uses, and keeps whatever a live cluster still uses', async () => {
        const [a, b, c, x] = await cluster(['a', 'b', 'c', 'x'], fast);
        const d = await start('d', fast); // a cluster of its own
        await a!.setSync({ n: 1 });
        await a!.leave('x'); // x goes on alone, in a new cluster
        await eventually(() => x!.nodes.length === 1 && a!.nodes.length === 3);
        const main = a!.rumor.cluster;
        const [alone, own] = [x!.rumor.cluster, d.rumor.cluster];
        await Promise.all([c!.stop(), x!.stop(), d.stop()]); // c stays a member of the live cluster

        // By default a node key or cluster must have been silent for a day.
        const early = await cli(['purge']);
        expect(early).toMatchObject({ code: 0, stderr: '' });
        expect(early.stdout).toMatch(/^nothing to purge \(kept 5 node keys and 3 clusters\)$/m);

        // Once the stopped clusters' registry entries are no longer live (3 gossip periods and a second):
        let dry: Purged | undefined;
        await eventually(
          async () => {
            const r = await cli(['--json', 'purge', '--dry-run', '--older-than', '1']);
            dry = JSON.parse(r.stdout) as Purged;
            return dry.purged.clusters.length === 2;
          },
          10_000,
          'the stopped clusters no longer live',
        );
        expect(dry!.dryRun).toBe(true);
        expect(dry!.purged.nodeKeys.map((k) => k.id).sort()).toEqual(['d', 'x']);
        expect(dry!.purged.clusters.map((k) => k.id).sort()).toEqual([alone, own].sort());
        expect(dry!.kept).toEqual({ nodeKeys: ['a', 'b', 'c'], clusters: [main] });
        for (const key of [keys().snapshot('d'), keys().snapshot('x'), keys().cluster(alone), keys().cluster(own)]) expect(await exists(key)).toBe(true);

        const r = await cli(['purge', '--older-than', '1']);
        expect(r).toMatchObject({ code: 0, stderr: '' });
        const rows = r.stdout.trim().split('\n');
        expect(rows[0]!.split(/\s{2,}/)).toEqual(['KIND', 'ID', 'WHAT', 'LAST SEEN']);
        expect(
          rows
            .filter((l) => /^node key\s/.test(l))
            .map((l) => l.split(/\s{2,}/)[1])
            .sort(),
        ).toEqual(['d', 'x']);
        expect(
          rows
            .filter((l) => /^cluster\s/.test(l))
            .map((l) => l.split(/\s{2,}/)[1])
            .sort(),
        ).toEqual([alone, own].sort());
        expect(rows.at(-1)).toBe('purged 2 node keys and 2 clusters (kept 3 node keys and 1 cluster)');
        for (const key of [keys().snapshot('d'), keys().snapshot('x'), keys().cluster(alone), keys().cluster(own)]) expect(await exists(key)).toBe(false);
        expect(await backend.probe().hget(keys().clusters, alone)).toBeNull();
        expect(await backend.probe().hget(keys().clusters, own)).toBeNull();
        for (const key of [keys().snapshot('a'), keys().snapshot('b'), keys().snapshot('c'), keys().cluster(main)]) expect(await exists(key)).toBe(true);

        // The live cluster goes on as before.
        await a!.set({ n: 2 });
        await eventually(() => b!.getCfg('n') === 2);
        expect((await cli(['purge', '--older-than', '1'])).stdout).toBe('nothing to purge (kept 3 node keys and 1 cluster)\n');
      });

      it("leaves a key of another type under a node key's or a cluster's name alone", async () => {
        const [a] = await cluster(['a'], fast);
        await a!.stop();
        const [junkKey, junkCluster] = [keys().snapshot('junk'), keys().cluster('junk')];
        await backend.probe().set(junkKey, 'not a node key');
        await backend.probe().rpush(junkCluster, 'not a cluster');
        const r = await cli(['--json', 'purge', '--older-than', '1']);
        expect(r.code, r.stderr).toBe(0);
        const out = JSON.parse(r.stdout) as Purged;
        expect(out.purged.nodeKeys.map((k) => k.id)).not.toContain('junk');
        expect(out.purged.clusters.map((k) => k.id)).not.toContain('junk');
        expect(await backend.probe().get(junkKey)).toBe('not a node key');
        expect(await backend.probe().lrange(junkCluster, 0, -1)).toEqual(['not a cluster']);
      });

      it('after evict, purge removes the key the evicted member left', async () => {
        const [a, , c] = await cluster(['a', 'b', 'c'], fast);
        await c!.stop();
        const evicted = await cli(['evict', 'c']);
        expect(evicted.code, evicted.stderr).toBe(0);
        await eventually(() => a!.nodes.length === 2);
        const r = await cli(['--json', 'purge', '--older-than', '1']);
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout) as Purged;
        expect(out.dryRun).toBe(false);
        expect(out.purged.nodeKeys).toEqual([expect.objectContaining({ id: 'c', cluster: a!.rumor.cluster })]);
        expect(out.purged.clusters).toEqual([]);
        expect(await exists(keys().snapshot('c'))).toBe(false);
        expect(await exists(keys().snapshot('a'))).toBe(true);
      });
    });

    if (onCluster) {
      describe('startup nodes of a Redis Cluster', () => {
        it('one is enough, from --redis or REDIS_URL; one that is down is passed over', async () => {
          const nodes = await cluster(['a', 'b']);
          await nodes[0]!.setSync({ where: 'cluster' });
          const [first, second, third] = backend.urls();
          const closed = `redis://127.0.0.1:${await freePort()}`;
          const ns = ['--namespace', namespace()];
          const runs = await Promise.all([
            runCli(['--cluster', '--redis', second!, ...ns, 'get', 'where']),
            runCli(['--cluster', ...ns, 'get', 'where'], { env: { REDIS_URL: third! } }),
            runCli(['--cluster', '--redis', closed, '--redis', first!, ...ns, 'get', 'where']),
          ]);
          for (const r of runs) expect(r).toMatchObject({ code: 0, stdout: '"cluster"\n', stderr: '' });
        });
      });
    }

    describe('failures scripts can tell apart', () => {
      it('bad usage exits 1 with a one-line reason, before connecting to anything', async () => {
        const closed = `redis://127.0.0.1:${await freePort()}`;
        const cases = [
          ['statsu'],
          ['set', '{not json'],
          ['set-cfg', 'mode', 'dark'],
          ['set-cfg', 'only-a-key'],
          ['get', 'a', 'b'],
          ['delete-cfg'],
          ['evict'],
          ['purge', '--older-than', 'soon'],
          ['--timeout', 'soon', 'status'],
          ['--namespace', 'has space', 'status'],
          ['--no-such-option', 'status'],
        ].map((args) => [...redisArgs([closed]), ...args]);
        const modeCases = onCluster
          ? [
              ['--cluster', '--redis', 'http://127.0.0.1:1', 'status'],
              ['--cluster', '--redis', closed, '--redis', '127.0.0.1:1', 'status'],
            ]
          : [['--redis', closed, '--redis', closed, 'status']];
        const runs = await Promise.all([...cases, ...modeCases].map((args) => runCli(args)));
        for (const r of runs) {
          expect(r.code).toBe(1);
          expect(reason(r)).toMatch(/^simple-gossip: /);
        }
        expect(reason(runs[0]!)).toContain("unknown command 'statsu'");
        expect(reason(runs[2]!)).toContain('not JSON');
        const mode = runs.slice(cases.length).map(reason);
        if (onCluster) {
          expect(mode).toEqual(['simple-gossip: not a Redis URL: "http://127.0.0.1:1" (expected redis://host:port)', 'simple-gossip: not a Redis URL: "127.0.0.1:1" (expected redis://host:port)']);
        } else {
          expect(mode).toEqual(['simple-gossip: 2 --redis URLs: several are the startup nodes of a Redis Cluster, add --cluster']);
        }
      });

      if (!onCluster) {
        it('--help exits 0; no command at all exits 1', async () => {
          const help = await runCli(['--help']);
          expect(help.code).toBe(0);
          expect(help.stdout).toContain('Usage: simple-gossip');
          expect(help.stdout).toContain('--cluster');
          const none = await runCli([]);
          expect(none.code).toBe(1);
          expect(none.stderr.trim().split('\n').at(-1)).toBe('simple-gossip: missing command: status, get, set, set-cfg, delete-cfg, evict, purge, watch, nodes');
        });
      }

      it('a Redis nobody listens on exits 2', async () => {
        const url = `redis://127.0.0.1:${await freePort()}`;
        const r = await runCli([...redisArgs([url]), 'status']);
        expect(r.code).toBe(2);
        const at = onCluster ? where([url]) : `Redis at ${url}`;
        expect(reason(r)).toBe(`simple-gossip: cannot reach ${at}: connect ECONNREFUSED 127.0.0.1:${new URL(url).port}`);
      });

      it('the wrong mode for this Redis exits 2 and says which to use', async () => {
        const url = backend.urls()[0]!;
        if (onCluster) {
          // A cluster node taken for a standalone Redis: the members' sharded channels are not seen there.
          await cluster(['a', 'b']);
          const r = await runCli(['--redis', url, '--namespace', namespace(), 'status']);
          expect(r.code).toBe(2);
          expect(reason(r)).toBe(`simple-gossip: no live member in namespace "${namespace()}" on ${url} (a Redis Cluster node: add --cluster)`);
        } else {
          const r = await runCli(['--cluster', '--redis', url, '--namespace', namespace(), 'status']);
          expect(r.code).toBe(2);
          expect(reason(r)).toBe(`simple-gossip: cannot reach the Redis Cluster at ${url}: not a Redis Cluster node (cluster support disabled): drop --cluster`);
        }
      });

      it('a namespace with no live member exits 2, for reads and writes alike', async () => {
        const runs = await Promise.all([['status'], ['get'], ['set', '1'], ['delete-cfg', 'k'], ['evict', 'a'], ['nodes'], ['watch']].map((args) => cli(args)));
        for (const r of runs) {
          expect(r.code).toBe(2);
          expect(reason(r)).toBe(`simple-gossip: no live member in namespace "${namespace()}" on ${where()}`);
        }
        // purge needs no member: it cleans up after them.
        expect(await cli(['purge'])).toMatchObject({ code: 0, stdout: 'nothing to purge (kept 0 node keys and 0 clusters)\n', stderr: '' });
      });

      it('a cluster with a secret answers --secret or SIMPLE_GOSSIP_SECRET, and nothing else', async () => {
        await cluster(['a', 'b'], { secret: 's3cret' });
        // The first secret signs, any of them is accepted (rotation).
        expect((await cli(['status', '--secret', 's3cret', '--secret', 'old'])).code).toBe(0);
        expect((await cli(['status'], { env: { SIMPLE_GOSSIP_SECRET: 's3cret' } })).code).toBe(0);
        const r = await cli(['status', '--timeout', '1000']);
        expect(r.code).toBe(2);
        expect(reason(r)).toContain('does the cluster need a --secret?');
      });

      it("a write without the cluster's secret, or with a wrong one, is refused before it is committed", async () => {
        const nodes = await cluster(['a', 'b'], { secret: 's3cret' });
        await nodes[0]!.setSync({ keep: 1 });
        const before = nodes[0]!.version;
        const runs = await Promise.all([
          cli(['set-cfg', 'k', '1', '--timeout', '1000']),
          cli(['set-cfg', 'k', '1', '--timeout', '1000', '--secret', 'wrong']),
          cli(['delete-cfg', 'keep', '--timeout', '1000']),
          cli(['evict', 'b', '--timeout', '1000']),
        ]);
        for (const r of runs) expect(r.code).toBe(2);
        expect(reason(runs[0])).toContain('does the cluster need a --secret?');
        expect(reason(runs[1])).toContain('a wrong --secret?');
        // Nothing was committed, and the members go on writing and reading their signed state.
        expect(nodes[1]!.version).toBe(before);
        await nodes[1]!.setCfgSync('k2', 2);
        expect(nodes[0]!.get()).toEqual({ keep: 1, k2: 2 });
        const signed = await cli(['set-cfg', 'k', '3', '--secret', 's3cret']);
        expect(signed.code).toBe(0);
        await eventually(() => nodes.every((n) => n.getCfg('k') === 3));
      });
    });
  });
}
