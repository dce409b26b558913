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

/** A one-entry cache per caller: the tree only changes with the member list or fanout. */
export class TreeCache {
  #key = '';
  #tree: Tree = new Map();

  neighbours(nodes: readonly string[], fanout: number, self: string): readonly string[] {
    const key = `${fanout}\u0000${nodes.join('\u0000')}`;
    if (key !== this.#key) {
      this.#tree = buildTree(nodes, fanout);
      this.#key = key;
    }
    return this.#tree.get(self) ?? [];
  }
}
