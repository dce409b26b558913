/**
 * Data writes before they are encoded, and the rule for committing several
 * of them as one: writes a node queues while its last commit is in flight
 * go out together in the next (a group commit), when one commit has the same
 * outcome as committing them in turn.
 */

/** A data write: a whole value, or config keys set and removed. */
export type DataOp = { readonly op: 'set'; readonly value: unknown } | { readonly op: 'patch'; readonly set: ReadonlyMap<string, unknown>; readonly del: readonly string[] };

/**
 * `acc` then `next` as one write, or undefined when they must be committed
 * apart:
 * - a whole `set` replaces whatever came before it (the same data as the two
 *   in turn; the earlier value is simply never seen on its own);
 * - two patches merge key by key, the later winning: its sets after the
 *   earlier's removals, its removals dropping the earlier's sets;
 * - a patch after a set stays apart (on a value that is not an object, it
 *   must fail by itself), and so does a patch that sets a key the earlier
 *   removed (in turn, the key would move to the end; merged, it would not).
 */
export function foldOps(acc: DataOp, next: DataOp): DataOp | undefined {
  if (next.op === 'set') return next;
  if (acc.op === 'set') return undefined;
  for (const key of next.set.keys()) if (acc.del.includes(key)) return undefined;
  const set = new Map(acc.set);
  for (const [key, value] of next.set) set.set(key, value);
  for (const key of next.del) set.delete(key);
  const del = [...acc.del];
  for (const key of next.del) if (!del.includes(key)) del.push(key);
  return { op: 'patch', set, del };
}
