import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { Gossip } from '../../lib/index.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';

/**
 * The package as a user gets it: `npm pack` (with its prepack and prepare
 * scripts, on a copy of the work tree so the tree's own dist/ is never
 * touched), installed from the tarball into a scratch project, then imported
 * the ways the README promises.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Top-level entries never copied to the staging tree: installed, generated or history. */
const NOT_STAGED = new Set(['node_modules', '.git', 'dist', 'docs', 'coverage']);
const redis = useRedis();

interface Run {
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const why = Object.assign(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`), {
        code: (err as NodeJS.ErrnoException).code,
      });
      reject(why);
    });
  });
}

let work = '';
let app = '';
let tarball = '';
let files: string[] = [];
/** Set when `npm pack` cannot run here at all: every test is then skipped with this reason. */
let cannotPack: string | undefined;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sg-package-'));
  const stage = join(work, 'stage');
  await cp(ROOT, stage, {
    recursive: true,
    filter: (src) => {
      const top = relative(ROOT, src).split(sep)[0]!;
      return !NOT_STAGED.has(top) && !top.endsWith('.tgz');
    },
  });
  await symlink(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');

  try {
    await run('npm', ['pack', '--pack-destination', work, '--loglevel=error'], stage, 90_000);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      cannotPack = 'npm is not on PATH, so `npm pack` cannot run here';
      return;
    }
    throw err;
  }
  const packed = (await readdir(work)).filter((f) => f.endsWith('.tgz'));
  expect(packed).toHaveLength(1);
  tarball = join(work, packed[0]!);
  files = (await run('tar', ['-tzf', tarball], work, 10_000)).stdout.split('\n').filter(Boolean).sort();

  app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, 'prom-client@^15'], app, 90_000);
}, 150_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

let warned = false;
function skipWhenNoPack(ctx: TestContext): void {
  if (cannotPack === undefined) return;
  if (!warned) console.warn(`package tests skipped: ${cannotPack}`);
  warned = true;
  ctx.skip(cannotPack);
}

/** Whether this Node loads ES modules with require() without a flag (20.19+, 22.12+, 23+). */
function requireEsmByDefault(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 23 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19);
}

/** Runs `source` with node in the scratch project; returns the JSON its last line prints (of the shape `R` the script prints). */
async function script<R>(ctx: TestContext, name: string, source: string, nodeArgs: readonly string[] = []): Promise<R> {
  skipWhenNoPack(ctx);
  await writeFile(join(app, name), source);
  const { stdout } = await run(process.execPath, [...nodeArgs, name], app, 30_000, {
    REDIS_URL: redis(),
    SG_NAMESPACE: freshNamespace('pack'),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as R;
}

describe('the packed package', () => {
  it('holds only dist (JavaScript, type declarations and the Lua scripts), README and the plot it shows, LICENSE and package.json', async (ctx) => {
    skipWhenNoPack(ctx);
    const allowed = /^package\/(package\.json|README\.md|LICENSE|bench\/results\/convergence\.svg|dist\/.+\.(js|d\.ts)|dist\/scripts\/[\w-]+\.lua)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/exporters/prometheus.js', 'dist/exporters/prometheus.d.ts', 'dist/cli/main.js', 'dist/scripts/scripts.js']) {
      expect(files).toContain(`package/${needed}`);
    }
    // Every script the library loads at run time, next to the loader (lib/scripts/*.lua is copied by the build).
    const scripts = (await readdir(join(ROOT, 'lib', 'scripts'))).filter((f) => f.endsWith('.lua'));
    expect(scripts.length).toBeGreaterThan(0);
    expect(files.filter((f) => f.endsWith('.lua')).sort()).toEqual(scripts.map((f) => `package/dist/scripts/${f}`).sort());
    expect(files).toContain('package/LICENSE');
    expect(files).toContain('package/README.md');
    // The README's plot, at the path its relative link names (the registry page resolves it through `repository`).
    expect(files).toContain('package/bench/results/convergence.svg');
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('](bench/results/convergence.svg)');
    expect(files.some((f) => f.endsWith('.map') || f.includes('/spec/') || f.startsWith('package/lib/'))).toBe(false);
  });

  it('an ES module imports it, starts two nodes that join, sets a value and reads it on both, without loading prom-client', async (ctx) => {
    type Esm = { resolved: string; errorClass: string; onA: unknown; onB: unknown; frozen: boolean; members: string[]; sameVersion: boolean; ioredisLoaded: boolean; promClientLoaded: boolean };
    const out = await script<Esm>(ctx, 'esm.mjs', `
      import { createRequire } from 'node:module';
      import { Gossip, GossipError } from 'simple-gossip';
      const opts = { redis: process.env.REDIS_URL, namespace: process.env.SG_NAMESPACE, rpcTimeoutMs: 2000 };
      const a = await Gossip.start({ ...opts, nodeId: 'pack-a' });
      const b = await Gossip.start({ ...opts, nodeId: 'pack-b' });
      try {
        await a.join('pack-b');
        await b.setSync({ hello: 'from the tarball' });
        const loaded = Object.keys(createRequire(import.meta.url).cache);
        console.log(JSON.stringify({
          resolved: import.meta.resolve('simple-gossip'),
          errorClass: typeof GossipError,
          onA: a.get(), onB: b.get(), frozen: Object.isFrozen(a.get()),
          members: [...a.nodes].sort(), sameVersion: a.version === b.version,
          ioredisLoaded: loaded.some((p) => p.includes('/node_modules/ioredis/')),
          promClientLoaded: loaded.some((p) => p.includes('/node_modules/prom-client/')),
        }));
      } finally {
        await a.stop({ leave: true });
        await b.stop({ leave: true });
      }
    `);
    expect(out.resolved).toContain('/app/node_modules/simple-gossip/dist/index.js');
    expect(out.errorClass).toBe('function');
    expect(out.onA).toEqual({ hello: 'from the tarball' });
    expect(out.onB).toEqual({ hello: 'from the tarball' });
    expect(out.frozen).toBe(true);
    expect(out.members).toEqual(['pack-a', 'pack-b']);
    expect(out.sameVersion).toBe(true);
    expect(out.ioredisLoaded).toBe(true); // the check below can see a CommonJS dependency at all
    expect(out.promClientLoaded).toBe(false);
  });

  type Cjs = { gossip: string; start: string; errors: string; resolved: string };
  const CJS = `
    const sg = require('simple-gossip');
    console.log(JSON.stringify({
      gossip: typeof sg.Gossip, start: typeof sg.Gossip.start, errors: typeof sg.PropagationTimeoutError,
      resolved: require.resolve('simple-gossip'),
    }));
  `;

  it('a CommonJS module requires it with --experimental-require-module (Node 20.17 and later)', async (ctx) => {
    const out = await script<Cjs>(ctx, 'cjs.cjs', CJS, ['--experimental-require-module', '--no-warnings']);
    expect(out).toMatchObject({ gossip: 'function', start: 'function', errors: 'function' });
    expect(out.resolved).toContain(`${sep}app${sep}node_modules${sep}simple-gossip${sep}dist${sep}index.js`);
  });

  it.runIf(requireEsmByDefault())('a CommonJS module requires it with no flag where require(esm) is on by default (Node 20.19, 22.12)', async (ctx) => {
    const out = await script<Cjs>(ctx, 'cjs-default.cjs', CJS, ['--no-warnings']);
    expect(out).toMatchObject({ gossip: 'function', start: 'function', errors: 'function' });
  });

  it('simple-gossip/prometheus reports a node to a prom-client registry', async (ctx) => {
    const out = await script<{ text: string; promClientLoaded: boolean }>(ctx, 'prometheus.mjs', `
      import { createRequire } from 'node:module';
      import { Registry } from 'prom-client';
      import { Gossip } from 'simple-gossip';
      import { registerGossipMetrics } from 'simple-gossip/prometheus';
      const node = await Gossip.start({ redis: process.env.REDIS_URL, namespace: process.env.SG_NAMESPACE, nodeId: 'pack-c' });
      try {
        await node.set('x');
        const registry = new Registry();
        const off = registerGossipMetrics(node, { registry });
        const text = await registry.metrics();
        off();
        const loaded = Object.keys(createRequire(import.meta.url).cache);
        console.log(JSON.stringify({ text, promClientLoaded: loaded.some((p) => p.includes('/node_modules/prom-client/')) }));
      } finally {
        await node.stop({ leave: true });
      }
    `);
    expect(out.promClientLoaded).toBe(true);
    expect(out.text).toMatch(/^simple_gossip_version\{node_id="pack-c",namespace="sg-pack-[0-9a-f]+"\} 2$/m);
    expect(out.text).toMatch(/^simple_gossip_is_leader\{node_id="pack-c",[^}]*\} 1$/m);
    expect(out.text).toMatch(/^# TYPE simple_gossip_changes_total counter$/m);
    expect(out.text).toMatch(/^simple_gossip_node_key_writes_total\{node_id="pack-c",[^}]*\} \d+$/m);
    expect(out.text).not.toMatch(/leader_commits_total|pushes_total|fenced_commits_total/);
  });

  it('the simple-gossip command from the tarball reads and writes a running cluster', async (ctx) => {
    skipWhenNoPack(ctx);
    const bin = join(app, 'node_modules', '.bin', 'simple-gossip');
    const namespace = freshNamespace('pack');
    const version = await run(bin, ['--version'], app, 15_000);
    expect(version.stdout.trim()).toBe((JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    const node = await Gossip.start({ redis: redis(), namespace, nodeId: 'pack-cli' });
    try {
      const cli = (...args: string[]) => run(bin, ['--redis', redis(), '--namespace', namespace, ...args], app, 15_000);
      // The CLI commits with the package's own copy of the scripts (dist/scripts).
      const set = await cli('set-cfg', 'from', '"the tarball"');
      expect(set.stdout).toMatch(/^version \d+\n$/);
      await eventually(() => node.getCfg('from') === 'the tarball');
      expect((await cli('get', 'from')).stdout).toBe('"the tarball"\n');
      expect((await cli('status')).stdout).toContain('healthy: 1 member, all at version');
    } finally {
      await node.stop({ leave: true });
    }
  });

  it('its type declarations serve both entry points to a TypeScript user', async (ctx) => {
    skipWhenNoPack(ctx);
    await writeFile(join(app, 'check.mts'), `
      import { Gossip, type MetricsSnapshot, type GossipOptions } from 'simple-gossip';
      import { registerGossipMetrics, type GossipMetricsOptions } from 'simple-gossip/prometheus';
      import { Registry } from 'prom-client';
      export async function main(options: GossipOptions): Promise<MetricsSnapshot> {
        const node = await Gossip.start<{ flags: string[] }>(options);
        const metricsOptions: GossipMetricsOptions = { registry: new Registry(), prefix: 'app_' };
        const off: () => void = registerGossipMetrics(node, metricsOptions);
        off();
        const flags: readonly string[] | undefined = node.get()?.flags;
        void flags;
        return node.metrics();
      }
      // @ts-expect-error: the exporter is not part of the main entry point
      import { registerGossipMetrics as nope } from 'simple-gossip';
      void nope;
    `);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
      files: ['check.mts'],
    }));
    await run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app, 30_000);
  });
});
