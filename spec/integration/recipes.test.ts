/**
 * The README's recipes, run as written: each is saved as the .mjs file its
 * first line names and run as separate instances (`node <file>`, NODE_ID and
 * REDIS_URL in the environment) against the built package. Changed for the
 * test only: a fresh namespace, and the job's period (60 s → 200 ms).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Observer } from '../../lib/index.js';
import { buildCli, runCli } from '../support/cli.js';
import { eventually } from '../support/cluster.js';
import { useRedis } from '../support/redis.js';
import { Script, scratchProject, scriptsOf } from '../support/script.js';

const redis = useRedis();
const recipes = scriptsOf('Recipes');
let project: ReturnType<typeof scratchProject>;
let running: Script[] = [];

beforeAll(async () => {
  await buildCli();
  project = scratchProject();
}, 120_000);
afterAll(() => project?.remove());
afterEach(async () => {
  for (const s of running) s.kill('SIGKILL');
  await Promise.all(running.map((s) => s.exited));
  running = [];
});

/** Saves recipe `name` with a fresh namespace; resolves with that namespace and a way to start instances. */
function recipe(name: string, edit: (code: string) => string = (c) => c) {
  const code = recipes.get(name);
  if (!code) throw new Error(`README has no recipe ${name}`);
  let namespace = '';
  const file = project.write(
    name,
    edit(code).replace(/namespace: '([\w-]+)'/, (_, ns: string) => `namespace: '${(namespace = `${ns}-${randomBytes(3).toString('hex')}`)}'`),
  );
  const start = (nodeId: string, env: Record<string, string> = {}): Script => {
    const s = new Script(file, project.dir, { REDIS_URL: redis(), NODE_ID: nodeId, ...env });
    running.push(s);
    return s;
  };
  return { namespace, start };
}

/** Waits until `ids` are the members of one cluster, every one of them listening and at its version. */
async function oneCluster(namespace: string, ids: readonly string[]): Promise<{ leader: string }> {
  const observer = await Observer.connect({ redis: redis(), namespace, statusTimeoutMs: 300 });
  try {
    let leader = '';
    await eventually(
      async () => {
        const { rumor, members } = await observer.members();
        leader = rumor?.leader ?? '';
        return !!rumor && [...rumor.nodes].sort().join() === [...ids].sort().join() && members.every((m) => m.listening && m.version === rumor.version);
      },
      10_000,
      `one cluster of ${ids.join(', ')}`,
    );
    return { leader };
  } finally {
    await observer.close();
  }
}

describe('README recipes', () => {
  it('feature flags: a flag set from the CLI reaches every instance', async () => {
    const { namespace, start } = recipe('flags.mjs');
    const a = start('api-1');
    const b = start('api-2');
    await oneCluster(namespace, ['api-1', 'api-2']);
    const set = await runCli(['--redis', redis(), '--namespace', namespace, 'set-cfg', 'darkMode', 'true']);
    expect(set.code, set.stderr).toBe(0);
    await a.waitFor(/^api-1: darkMode is on$/);
    await b.waitFor(/^api-2: darkMode is on$/);
  });

  it('config hot reload: SIGHUP on one instance rolls config.json out, and every instance re-applies it', async () => {
    project.write('config.json', JSON.stringify({ poolSize: 20, logLevel: 'debug' }));
    const { namespace, start } = recipe('config.mjs');
    const a = start('api-1');
    const b = start('api-2');
    await a.waitFor(/^api-1 applies \{"logLevel":"info","poolSize":10\}$/);
    await b.waitFor(/^api-2 applies \{"logLevel":"info","poolSize":10\}$/);
    await oneCluster(namespace, ['api-1', 'api-2']);
    a.kill('SIGHUP');
    await a.waitFor(/^api-1 rolled out config\.json: every instance holds it$/);
    await b.waitFor(/^api-2 applies \{"logLevel":"debug","poolSize":20\}$/);
    // A restarted instance applies the rolled-out config at start.
    b.kill('SIGKILL');
    await b.exited;
    const again = start('api-2', { DEBUG: 'simple-gossip:*' });
    const first = await again.waitFor(/^api-2 applies /);
    expect(first, `the restarted instance's log:\n${again.stderr}`).toBe('api-2 applies {"logLevel":"debug","poolSize":20}');
  });

  it('leader-only job: only the leader runs it, and it moves to another instance when the leader stops', async () => {
    const { namespace, start } = recipe('report.mjs', (code) => code.replace('}, 60_000);', '}, 200);'));
    const instances = new Map([
      ['api-1', start('api-1')],
      ['api-2', start('api-2')],
    ]);
    const { leader } = await oneCluster(namespace, [...instances.keys()]);
    const [otherId, other] = [...instances].find(([id]) => id !== leader)!;
    const runs = /sends the report$/;
    await new Promise((r) => setTimeout(r, 300)); // the follower's own view catches up with the cluster's
    const before = { leader: instances.get(leader)!.count(runs), other: other.count(runs) };
    await eventually(() => instances.get(leader)!.count(runs) >= before.leader + 3, 10_000, 'three runs on the leader');
    expect(other.count(runs)).toBe(before.other);

    const from = other.lines.length;
    instances.get(leader)!.kill('SIGTERM');
    expect(await instances.get(leader)!.exited).toBe(0);
    await other.waitFor(new RegExp(`^${otherId} is now the leader: the job runs here$`), { from });
    await other.waitFor(new RegExp(`^${otherId} sends the report$`), { from });
  });
});
