/**
 * Gossip nodes in child processes for vitest: {@link ChildNode} (see
 * child-node.ts) and {@link useChildren}, which cleans up after each test.
 */
import { afterEach } from 'vitest';
import { ChildNode } from './child-node.js';
import type { SpawnOptions } from './child-node.js';
import { eventually } from './cluster.js';

export { ChildNode, ChildCallError } from './child-node.js';
export type { Command, Exit, NodeProcessOptions, SpawnOptions } from './child-node.js';

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

  /** Spawns `ids` in parallel, joins them into the first one's cluster, and waits until all agree. */
  async function cluster(ids: readonly string[], opts: Omit<SpawnOptions, 'nodeId'>): Promise<ChildNode[]> {
    const children = await Promise.all(ids.map((nodeId) => spawnChild({ ...opts, nodeId })));
    const [first, ...rest] = children as [ChildNode, ...ChildNode[]];
    for (const c of rest) await first.call('join', c.id);
    await eventually(async () => {
      const views = await Promise.all(children.map(async (c) => ({ nodes: await c.call<string[]>('nodes'), version: await c.call<number>('version') })));
      return views.every((v) => v.nodes.length === ids.length && v.version === views[0]!.version);
    }, 10_000, 'every child in one cluster');
    return children;
  }

  return { spawn: spawnChild, cluster };
}
