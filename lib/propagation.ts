import { SET_SYNC_INTERVAL_MS, SET_SYNC_TRIES } from './constants.js';
import { PropagationTimeoutError } from './errors.js';

/** How many members must hold a write before `setSync` resolves. */
export type WaitFor = 'all' | 'majority' | number;

/** Options of {@link Gossip.setSync}: how many members must hold the write, for how long to wait. */
export interface SetSyncOptions {
  /** How long to wait. @default 2000 (the original's 10 polls, 200 ms apart) */
  readonly timeoutMs?: number;
  /** Members (this one included) that must hold the version: all, a majority, or a count. @default 'all' */
  readonly wait?: WaitFor;
  /** Aborts the wait (the write itself stays applied). */
  readonly signal?: AbortSignal;
}

export interface Poller {
  /** The current member list. */
  nodes(): readonly string[];
  /** Each node's version (undefined: no answer within `timeoutMs`). */
  versions(nodes: readonly string[], timeoutMs: number): Promise<Array<number | undefined>>;
}

/** The count `wait` asks for among `n` members. */
export function required(wait: WaitFor, n: number): number {
  if (wait === 'all') return n;
  if (wait === 'majority') return Math.floor(n / 2) + 1;
  if (!Number.isSafeInteger(wait) || wait < 1) throw new RangeError(`wait must be 'all', 'majority' or a positive integer, not ${String(wait)}`);
  return Math.min(wait, n);
}

/**
 * Polls the members' versions until enough hold `version`: at once, then
 * backing off from 5 ms to 200 ms, until the deadline; then a
 * {@link PropagationTimeoutError} naming the laggards and their versions.
 */
export async function awaitVersion(poller: Poller, version: number, options: SetSyncOptions, pollTimeoutMs: number): Promise<void> {
  const timeoutMs = options.timeoutMs ?? SET_SYNC_TRIES * SET_SYNC_INTERVAL_MS;
  const wait = options.wait ?? 'all';
  const { signal } = options;
  const deadline = Date.now() + timeoutMs;
  let laggards: Array<{ nodeId: string; version: number | undefined }> = [];
  for (let poll = 0; ; poll++) {
    signal?.throwIfAborted();
    const nodes = poller.nodes();
    const answers = await poller.versions(nodes, Math.min(pollTimeoutMs, Math.max(1, deadline - Date.now())));
    signal?.throwIfAborted();
    const holding = answers.filter((v) => v !== undefined && v >= version).length;
    laggards = nodes
      .map((nodeId, i) => ({ nodeId, version: answers[i] }))
      .filter((a) => a.version === undefined || a.version < version);
    if (holding >= required(wait, nodes.length)) return;
    const pause = Math.min(SET_SYNC_INTERVAL_MS, 5 * 2 ** poll);
    if (Date.now() + pause > deadline) break;
    await sleep(pause, signal);
  }
  throw new PropagationTimeoutError(version, laggards);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', aborted, { once: true });
  });
}
