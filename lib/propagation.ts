import { MAX_VERSION_HOLD_MS, SET_SYNC_TIMEOUT_MS } from './constants.js';
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
  /**
   * `node`'s version, asked to answer once it holds `atLeast`, or after
   * `holdMs` with what it holds then; undefined when it does not answer.
   */
  version(node: string, atLeast: number, holdMs: number): Promise<number | undefined>;
}

/** The count `wait` asks for among `n` members. */
export function required(wait: WaitFor, n: number): number {
  if (wait === 'all') return n;
  if (wait === 'majority') return Math.floor(n / 2) + 1;
  if (!Number.isSafeInteger(wait) || wait < 1) throw new RangeError(`wait must be 'all', 'majority' or a positive integer, not ${String(wait)}`);
  return Math.min(wait, n);
}

/**
 * Waits until enough members hold `version`. Members are not polled: each is
 * asked once to answer as soon as it holds the version (or after a hold of
 * at most {@link MAX_VERSION_HOLD_MS}, when it is asked again), so the wait
 * ends one message after the last member needed has the version. At the
 * deadline, a {@link PropagationTimeoutError} names the laggards and their versions.
 */
export async function awaitVersion(poller: Poller, version: number, options: SetSyncOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? SET_SYNC_TIMEOUT_MS;
  const wait = options.wait ?? 'all';
  const { signal } = options;
  const deadline = Date.now() + timeoutMs;
  let laggards: Array<{ nodeId: string; version: number | undefined }>;
  for (;;) {
    signal?.throwIfAborted();
    const nodes = poller.nodes();
    const need = required(wait, nodes.length);
    const holdMs = Math.max(0, Math.min(MAX_VERSION_HOLD_MS, deadline - Date.now()));
    const answers = await enough(
      nodes.map((n) => poller.version(n, version, holdMs)),
      (v) => v !== undefined && v >= version,
      need,
      signal,
    );
    const holding = answers.filter((v) => v !== undefined && v >= version).length;
    if (holding >= need) return;
    laggards = nodes.map((nodeId, i) => ({ nodeId, version: answers[i] })).filter((a) => a.version === undefined || a.version < version);
    if (Date.now() >= deadline) break;
    // Someone answered without the version before its hold was over (it was stopping, say): not a busy loop.
    if (holdMs < MAX_VERSION_HOLD_MS || answers.includes(undefined)) await sleep(Math.min(50, Math.max(0, deadline - Date.now())), signal);
  }
  throw new PropagationTimeoutError(version, laggards);
}

/**
 * Resolves once `need` of `answers` pass `good`, or all have settled
 * (rejections count as undefined); to the answers so far, by position.
 */
function enough<V>(answers: ReadonlyArray<Promise<V | undefined>>, good: (v: V | undefined) => boolean, need: number, signal?: AbortSignal): Promise<Array<V | undefined>> {
  const out = new Array<V | undefined>(answers.length).fill(undefined);
  return new Promise((resolve, reject) => {
    let settled = 0;
    let passed = 0;
    const aborted = () => reject(signal!.reason);
    signal?.addEventListener('abort', aborted, { once: true });
    const finish = () => {
      signal?.removeEventListener('abort', aborted);
      resolve(out);
    };
    if (answers.length === 0 || need <= 0) return finish();
    const settle = (i: number, v: V | undefined) => {
      out[i] = v;
      settled++;
      if (good(v)) passed++;
      if (passed >= need || settled === answers.length) finish();
    };
    // A rejected answer counts as undefined (that member did not answer); settle() does not throw, so the chain never rejects.
    answers.forEach(
      (p, i) =>
        void p.then(
          (v) => settle(i, v),
          () => settle(i, undefined),
        ),
    );
  });
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
