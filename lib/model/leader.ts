/**
 * Deterministic leader choice, the same on every node that knows the same
 * facts: the members minus the old leader minus the nodes known to be down,
 * sorted, picked by a stable hash of that list; the local node if none is left.
 */
export function chooseLeader(nodes: readonly string[], oldLeader: string | undefined, down: ReadonlySet<string>, self: string): string {
  const candidates = nodes.filter((id) => id !== oldLeader && !down.has(id)).sort();
  if (candidates.length === 0) return self;
  return candidates[fnv1a(candidates.join('\n')) % candidates.length]!;
}

/** 32-bit FNV-1a over the UTF-16 code units: stable across processes and platforms. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
