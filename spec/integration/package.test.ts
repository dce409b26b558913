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
import { scriptsOf } from '../support/script.js';

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
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

/** The parts of a package.json these tests read. */
interface Manifest {
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

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
  await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, 'prom-client@^15', '@opentelemetry/api@^1', '@openfeature/server-sdk@^1', '@openfeature/core@^1'],
    app,
    90_000,
  );
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
    for (const needed of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/exporters/prometheus.js',
      'dist/exporters/prometheus.d.ts',
      'dist/exporters/opentelemetry.js',
      'dist/integrations/openfeature.js',
      'dist/testing.js',
      'dist/testing.d.ts',
      'dist/cli/main.js',
      'dist/scripts/scripts.js',
    ]) {
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
    const out = await script<Esm>(
      ctx,
      'esm.mjs',
      `
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
    `,
    );
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
    const out = await script<{ text: string; promClientLoaded: boolean }>(
      ctx,
      'prometheus.mjs',
      `
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
    `,
    );
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

  it('simple-gossip/opentelemetry and simple-gossip/openfeature load from the tarball with their peers', async (ctx) => {
    const out = await script(
      ctx,
      'integrations.mjs',
      `
      import { metrics } from '@opentelemetry/api';
      import { OpenFeature } from '@openfeature/server-sdk';
      import { Gossip } from 'simple-gossip';
      import { registerGossipInstruments } from 'simple-gossip/opentelemetry';
      import { GossipProvider } from 'simple-gossip/openfeature';
      const node = await Gossip.start({ redis: process.env.REDIS_URL, namespace: process.env.SG_NAMESPACE, nodeId: 'pack-f' });
      try {
        const off = registerGossipInstruments(node, { meter: metrics.getMeterProvider() });
        await node.setCfg('dark-mode', true);
        await OpenFeature.setProviderAndWait(new GossipProvider(node));
        const details = await OpenFeature.getClient().getBooleanDetails('dark-mode', false);
        off();
        await OpenFeature.close();
        console.log(JSON.stringify({ value: details.value, reason: details.reason, provider: OpenFeature.getProviderMetadata().name }));
      } finally {
        await node.stop({ leave: true });
      }
    `,
    );
    expect(out).toEqual({ value: true, reason: 'STATIC', provider: 'simple-gossip' });
  });

  it('its type declarations serve both entry points to a TypeScript user', async (ctx) => {
    skipWhenNoPack(ctx);
    await writeFile(
      join(app, 'check.mts'),
      `
      import { Gossip, type MetricsSnapshot, type GossipOptions } from 'simple-gossip';
      import { registerGossipMetrics, type GossipMetricsOptions } from 'simple-gossip/prometheus';
      import { registerGossipInstruments } from 'simple-gossip/opentelemetry';
      import { GossipProvider } from 'simple-gossip/openfeature';
      import { startRedis, type TestRedis } from 'simple-gossip/testing';
      import { Registry } from 'prom-client';
      import { Redis } from 'ioredis';
      export async function testing(): Promise<string> {
        const redis: TestRedis = await startRedis({ args: ['--maxmemory', '64mb'] });
        const node = await Gossip.start({ redis: new Redis(redis.url) });
        await node.stop();
        await redis.stop();
        return redis.source;
      }
      export async function main(options: GossipOptions): Promise<MetricsSnapshot> {
        const node = await Gossip.start<{ flags: string[] }>(options);
        const metricsOptions: GossipMetricsOptions = { registry: new Registry(), prefix: 'app_' };
        const off: () => void = registerGossipMetrics(node, metricsOptions);
        off();
        registerGossipInstruments(node)();
        void new GossipProvider(node).resolveBooleanEvaluation('flag', false);
        const writeMs: number = node.metrics().latency.write.sumMs;
        void writeMs;
        const flags: readonly string[] | undefined = node.get()?.flags;
        void flags;
        return node.metrics();
      }
      // @ts-expect-error: the exporter is not part of the main entry point
      import { registerGossipMetrics as nope } from 'simple-gossip';
      void nope;
    `,
    );
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ['check.mts'],
      }),
    );
    await run(TSC, ['-p', 'tsconfig.json'], app, 30_000);
  });

  it('simple-gossip/testing starts a Redis of its own that a node works on, and stops it', async (ctx) => {
    const out = await script<{ url: string; source: string; read: unknown; after: string; ownRedis: boolean }>(
      ctx,
      'testing.mjs',
      `
      import { Gossip } from 'simple-gossip';
      import { startRedis } from 'simple-gossip/testing';
      const redis = await startRedis();
      const node = await Gossip.start({ redis: redis.url, nodeId: 'pack-t' });
      await node.setCfg('on', 'its own Redis');
      const read = node.getCfg('on');
      await node.stop();
      await redis.stop();
      const after = await Gossip.start({ redis: redis.url, nodeId: 'pack-t', connectTimeoutMs: 300 }).then(() => 'started', (err) => err.code);
      console.log(JSON.stringify({ url: redis.url, source: redis.source, read, after, ownRedis: redis.url !== process.env.REDIS_URL }));
    `,
    );
    expect(out.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(out.source).toBe('binary');
    expect(out.read).toBe('its own Redis');
    expect(out.ownRedis).toBe(true);
    expect(out.after).toBe('redis_unreachable');
  });

  it("ioredis comes as a peer dependency (>=5): one copy, the project's own, and none inside the package", async (ctx) => {
    skipWhenNoPack(ctx);
    const manifest = JSON.parse(await readFile(join(app, 'node_modules', 'simple-gossip', 'package.json'), 'utf8')) as Manifest;
    expect(manifest.dependencies?.ioredis).toBeUndefined();
    expect(manifest.peerDependencies?.ioredis).toBe('>=5');
    expect(manifest.peerDependenciesMeta?.testcontainers).toEqual({ optional: true });
    const installed = JSON.parse(await readFile(join(app, 'node_modules', 'ioredis', 'package.json'), 'utf8')) as Manifest;
    expect(Number(installed.version.split('.')[0])).toBeGreaterThanOrEqual(5);
    await expect(readFile(join(app, 'node_modules', 'simple-gossip', 'node_modules', 'ioredis', 'package.json'))).rejects.toThrow(/ENOENT/);
  });
});

/**
 * The README's Quick start, pasted: its JavaScript as a .mjs run with node,
 * its TypeScript compiled with tsc (strict; module nodenext, and bundler
 * resolution) and run, against a real Redis (REDIS_URL, which it reads).
 * What it prints is what its comments say it prints.
 */
describe("the README's Quick start, pasted into the scratch project", () => {
  const examples = scriptsOf('Quick start');

  /** The lines an example says it prints: the comments after its `console.log(…);` lines, in order. */
  function promised(code: string): string[] {
    return [...code.matchAll(/^console\.log\(.*\);\s*\/\/ (.+)$/gm)].map((m) => m[1]!.trim());
  }

  function expectPrinted(stdout: string, code: string): void {
    const lines = stdout.split('\n');
    const wanted = promised(code);
    expect(wanted.length).toBeGreaterThanOrEqual(2);
    expect(lines.filter((l) => wanted.includes(l))).toEqual(wanted);
    expect(lines.some((l) => /^b sees \{ greeting: 'hello world', count: [01] \} at version \d+$/.test(l))).toBe(true);
  }

  it('the README shows it in JavaScript and in TypeScript', () => {
    expect([...examples.keys()]).toEqual(['quickstart.mjs', 'quickstart.mts']);
  });

  it('runs as JavaScript (quickstart.mjs with node) and prints what it says', async (ctx) => {
    skipWhenNoPack(ctx);
    const code = examples.get('quickstart.mjs')!;
    await writeFile(join(app, 'quickstart.mjs'), code);
    const { stdout } = await run(process.execPath, ['quickstart.mjs'], app, 30_000, { REDIS_URL: redis() });
    expectPrinted(stdout, code);
  });

  it('compiles as TypeScript (strict, module nodenext; and moduleResolution bundler), and the output runs and prints what it says', async (ctx) => {
    skipWhenNoPack(ctx);
    const code = examples.get('quickstart.mts')!;
    const dir = join(app, 'ts-quickstart');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'quickstart.mts'), code);
    const strict = { target: 'es2022', strict: true, skipLibCheck: true, types: [] };
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'nodenext', moduleResolution: 'nodenext' }, files: ['quickstart.mts'] }));
    await writeFile(join(dir, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler', noEmit: true }, files: ['quickstart.mts'] }));
    await run(TSC, ['-p', 'tsconfig.json'], dir, 60_000);
    await run(TSC, ['-p', 'tsconfig.bundler.json'], dir, 60_000);
    const { stdout } = await run(process.execPath, ['quickstart.mjs'], dir, 30_000, { REDIS_URL: redis() });
    expectPrinted(stdout, code);
  });
});

describe("the README's test example (Testing your code), pasted into the scratch project", () => {
  it('passes under node --test, on a Redis that simple-gossip/testing starts', async (ctx) => {
    skipWhenNoPack(ctx);
    const code = scriptsOf('Testing your code').get('flags.test.mjs');
    expect(code).toBeDefined();
    await writeFile(join(app, 'flags.test.mjs'), code!);
    // No REDIS_URL: the example needs none. node --test exits non-zero (and run rejects) when a test fails.
    const { REDIS_URL: _ignored, ...env } = process.env;
    const { stdout } = await new Promise<Run>((resolve, reject) =>
      execFile(process.execPath, ['--test', 'flags.test.mjs'], { cwd: app, env, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`node --test failed: ${err.message}\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
      ),
    );
    expect(stdout).toMatch(/^# pass 1$/m);
    expect(stdout).toMatch(/^# fail 0$/m);
  });
});

/**
 * A service that already has ioredis 5 (BullMQ's) installs the tarball: the
 * peer dependency is met by its ioredis, no second copy comes in, and its
 * own clients pass type checks and work.
 */
describe('the packed package in a project that has ioredis 5', () => {
  let app5 = '';
  beforeAll(async () => {
    if (cannotPack !== undefined || !tarball) return;
    app5 = join(work, 'app-ioredis5');
    await mkdir(app5);
    await writeFile(join(app5, 'package.json'), JSON.stringify({ name: 'scratch-ioredis5', version: '1.0.0', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', 'ioredis@^5', tarball], app5, 90_000);
  }, 120_000);

  it("uses the project's ioredis 5, with no copy of its own", async (ctx) => {
    skipWhenNoPack(ctx);
    const installed = JSON.parse(await readFile(join(app5, 'node_modules', 'ioredis', 'package.json'), 'utf8')) as Manifest;
    expect(installed.version).toMatch(/^5\./);
    await expect(readFile(join(app5, 'node_modules', 'simple-gossip', 'node_modules', 'ioredis', 'package.json'))).rejects.toThrow(/ENOENT/);
  });

  it('an ioredis 5 client passes tsc (strict, nodenext) as the redis option, and two nodes on such clients share a write', async (ctx) => {
    skipWhenNoPack(ctx);
    await writeFile(
      join(app5, 'shared.mts'),
      `
      import { Redis } from 'ioredis';
      import { Gossip } from 'simple-gossip';
      const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
      const connection = new Redis(url, { maxRetriesPerRequest: null }); // as BullMQ wants it
      const namespace = process.env.SG_NAMESPACE;
      const a = await Gossip.start({ redis: connection, namespace, nodeId: 'pack5-a' });
      const b = await Gossip.start({ redis: new Redis(url), namespace, nodeId: 'pack5-b' });
      await a.join(b.id);
      await a.setSync({ queue: 'shared' });
      console.log(JSON.stringify({ onB: b.get(), stillMine: connection.status }));
      await a.stop({ leave: true });
      await b.stop({ leave: true });
      connection.disconnect();
      process.exit(0);
    `,
    );
    await writeFile(
      join(app5, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: true, types: [] },
        files: ['shared.mts'],
      }),
    );
    // process and the ioredis typings need Node's types: the scratch project has none, so tsc is told where this tree's are.
    await run(TSC, ['-p', 'tsconfig.json', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'], app5, 60_000);
    const { stdout } = await run(process.execPath, ['shared.mjs'], app5, 30_000, { REDIS_URL: redis(), SG_NAMESPACE: freshNamespace('pack5') });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ onB: { queue: 'shared' }, stillMine: 'ready' });
  });
});
