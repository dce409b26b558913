/**
 * The epidemic tree: who a node pushes a change to. With member list L
 * (length n) and fanout k, m = min(k, n-1); a cursor walks L repeated m+1
 * times from its 2nd element, each node in L order taking the next m entries
 * as its neighbours; a node that finds itself among them drops itself and
 * puts the next entry first.
 */
export type Tree = ReadonlyMap<string, readonly string[]>;

export function buildTree(nodes: readonly string[], fanout: number): Tree {
  const n = nodes.length;
  const tree = new Map<string, readonly string[]>();
  const m = Math.min(Math.max(0, Math.floor(fanout)), n - 1);
  if (m <= 0) {
    for (const id of nodes) tree.set(id, []);
    return tree;
  }
  let cursor = 1;
  const at = (i: number): string => nodes[i % n]!;
  for (const self of nodes) {
    const picked: string[] = [];
    for (let i = 0; i < m; i++) picked.push(at(cursor++));
    const mine = picked.indexOf(self);
    if (mine !== -1) {
      picked.splice(mine, 1);
      picked.unshift(at(cursor++));
    }
    tree.set(self, picked);
  }
  return tree;
}

/**
 * The broadcast tree of a change that starts at `root`: a breadth-first walk
 * of the epidemic tree from the root, each node reached once, by the first
 * neighbour that reaches it. Forwarding only down this tree delivers a change
 * to every member with n-1 messages and no duplicates, along edges of the
 * epidemic tree, in about log_k(n) hops.
 */
export function broadcastTree(nodes: readonly string[], fanout: number, root: string): Tree {
  const epidemic = buildTree(nodes, fanout);
  const children = new Map<string, string[]>(nodes.map((n) => [n, []]));
  if (!children.has(root)) return children;
  const reached = new Set([root]);
  const queue = [root];
  for (let i = 0; i < queue.length; i++) {
    const at = queue[i]!;
    for (const next of epidemic.get(at) ?? []) {
      if (reached.has(next)) continue;
      reached.add(next);
      children.get(at)!.push(next);
      queue.push(next);
    }
  }
  // Members the epidemic tree does not reach from the root (it is not always strongly connected): the root sends to them.
  for (const n of nodes) {
    if (!reached.has(n)) children.get(root)!.push(n);
  }
  return children;
}

/** Broadcast trees by root, rebuilt when the member list or fanout changes. */
export class BroadcastCache {
  #key = '';
  readonly #trees = new Map<string, Tree>();

  children(nodes: readonly string[], fanout: number, root: string, of: string): readonly string[] {
    const key = `${fanout}\u0000${nodes.join('\u0000')}`;
    if (key !== this.#key) {
      this.#trees.clear();
      this.#key = key;
    }
    let tree = this.#trees.get(root);
    if (!tree) this.#trees.set(root, (tree = broadcastTree(nodes, fanout, root)));
    return tree.get(of) ?? [];
  }
}
