/**
 * Gossip nodes in child processes for vitest: {@link ChildNode} (see
 * child-node.ts) and {@link useChildren}, which cleans up after each test.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterEach } from 'vitest';
import { ChildNode } from './child-node.js';
import type { SpawnOptions } from './child-node.js';
import { eventually } from './cluster.js';

export { ChildNode, ChildCallError, ChildStartError } from './child-node.js';
export type { Command, Exit, NodeProcessOptions, SpawnOptions, WriteAck } from './child-node.js';

/**
 * Spawns child nodes for one test and SIGKILLs whatever is left of them
 * after it (a stopped — SIGSTOP — child included).
 */
export function useChildren() {
  let live: ChildNode[] = [];
  afterEach(async () => {
    const children = live;
    live = [];
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
  });

  async function spawnChild(opts: SpawnOptions): Promise<ChildNode> {
    const child = await ChildNode.spawn(opts);
    live.push(child);
    return child;
  }

  /**
   * Spawns `ids` in parallel, joins them into the first one's cluster, and
   * waits until all agree. `perNode` overrides options for some of them
   * (e.g. a Redis URL through a fault proxy).
   */
  async function cluster(ids: readonly string[], opts: Omit<SpawnOptions, 'nodeId'>, perNode: Readonly<Record<string, Partial<Omit<SpawnOptions, 'nodeId'>>>> = {}): Promise<ChildNode[]> {
    const children = await Promise.all(ids.map((nodeId) => spawnChild({ ...opts, ...perNode[nodeId], nodeId })));
    const [first, ...rest] = children as [ChildNode, ...ChildNode[]];
    for (const c of rest) await first.call('join', c.id);
    await eventually(
      async () => {
        const views = await Promise.all(children.map(async (c) => ({ nodes: await c.call<string[]>('nodes'), version: await c.call<number>('version') })));
        return views.every((v) => v.nodes.length === ids.length && v.version === views[0]!.version);
      },
      10_000,
      'every child in one cluster',
    );
    return children;
  }

  return { spawn: spawnChild, cluster };
}

/** What one child node holds right now. */
export interface ChildView {
  readonly id: string;
  readonly version: number;
  readonly cluster: string;
  readonly leader: string;
  readonly nodes: readonly string[];
  readonly data: unknown;
}

export async function viewOf(child: ChildNode): Promise<ChildView> {
  const [cluster, version, leader, nodes, data] = await Promise.all([
    child.call<string>('cluster'),
    child.call<number>('version'),
    child.call<string>('leader'),
    child.call<string[]>('nodes'),
    child.call('get'),
  ]);
  return { id: child.id, cluster, version, leader, nodes, data };
}

/** The one leader every child names, and the others. */
export async function leaderOf(children: readonly ChildNode[]): Promise<{ leader: ChildNode; others: ChildNode[] }> {
  const views = await Promise.all(children.map((c) => c.call<string>('leader')));
  if (new Set(views).size !== 1) throw new Error(`the children disagree on the leader: ${views.join(', ')}`);
  const leader = children.find((c) => c.id === views[0]);
  if (!leader) throw new Error(`the leader ${views[0]} is none of the children`);
  return { leader, others: children.filter((c) => c !== leader) };
}

/**
 * Waits until every child holds the same version, data, leader and member
 * list (each member once); resolves to that common view.
 */
export async function converged(children: readonly ChildNode[], timeoutMs: number): Promise<ChildView> {
  let views: ChildView[] = [];
  await eventually(
    async () => {
      views = await Promise.all(children.map(viewOf));
      const [first, ...rest] = views as [ChildView, ...ChildView[]];
      return (
        new Set(first.nodes).size === first.nodes.length &&
        rest.every(
          (v) =>
            v.cluster === first.cluster &&
            v.version === first.version &&
            v.leader === first.leader &&
            isDeepStrictEqual(v.data, first.data) &&
            isDeepStrictEqual([...v.nodes].sort(), [...first.nodes].sort()),
        )
      );
    },
    timeoutMs,
    'every child to converge',
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last views: ${JSON.stringify(views)}`);
  });
  return views[0]!;
}
