import { randomBytes } from 'node:crypto';
import type { Commands } from '../transport/connection.js';
import type { Keys } from '../transport/keys.js';
import type { Post } from '../transport/wire.js';

/** Takes the lease when it is free, already ours, or held by an earlier process of this node id. */
const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] or string.sub(cur, 1, string.len(ARGV[3])) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {1, '', 0}
end
return {0, cur, redis.call('PTTL', KEYS[1])}`;

/**
 * Renews the lease and, when KEYS[2] is given, writes the snapshot and
 * publishes the posts that follow (count, message, channel × count, …) —
 * only while the lease is ours. Answers {1, listeners of each channel} or {0}.
 */
const COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local out = {1}
if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[3])
  local i = 4
  while i <= #ARGV do
    local n = tonumber(ARGV[i])
    for j = 1, n do out[#out + 1] = redis.call('PUBLISH', ARGV[i + 1 + j], ARGV[i + 1]) end
    i = i + 2 + n
  end
end
return out`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type Scripted = Commands & {
  sgAcquire(key: string, token: string, ms: number, prefix: string): Promise<[number, string, number]>;
  sgCommit(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  sgRelease(key: string, token: string): Promise<number>;
};

/**
 * The leader's lease in Redis, one per cluster: `SET NX PX` with a token,
 * renewed well before it runs out, and checked atomically with every commit
 * (one Lua round trip that also writes the leader's snapshot and publishes
 * the change and the writers' answers, so none of them can leave a leader
 * that lost its lease, and none waits for another round trip). A leader whose
 * lease is gone — it was frozen, or cut off, for longer than the lease — can
 * commit nothing more, so a new leader can take over without losing a write.
 */
export class Lease {
  readonly #redis: Scripted;
  readonly #token: string;
  /** The cluster whose lease we believe we hold, and until when (monotonic clock). */
  #cluster: string | undefined;
  #validUntil = 0;
  #renewer: NodeJS.Timeout | undefined;
  /** Who held it when we last failed to take it. */
  holder: string | undefined;

  constructor(
    redis: Commands,
    private readonly keys: Keys,
    private readonly self: string,
    private readonly ms: number,
    /** False on a Redis Cluster, where the lease and the snapshot live in different slots. */
    private readonly multiKey = true,
  ) {
    this.#redis = redis as Scripted;
    if (typeof this.#redis.sgCommit !== 'function') {
      redis.defineCommand('sgAcquire', { numberOfKeys: 1, lua: ACQUIRE });
      redis.defineCommand('sgCommit', { lua: COMMIT });
      redis.defineCommand('sgRelease', { numberOfKeys: 1, lua: RELEASE });
    }
    this.#token = `${self}\u0000${randomBytes(8).toString('base64url')}`;
  }

  /** Whether we hold the lease of `cluster`, as far as this process can tell without asking. */
  holds(cluster: string): boolean {
    return this.#cluster === cluster && performance.now() < this.#validUntil;
  }

  /**
   * Takes the lease of `cluster`, waiting up to `waitMs` for another holder's
   * lease to run out. Resolves to whether we hold it.
   */
  async acquire(cluster: string, waitMs: number): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    for (;;) {
      const started = performance.now();
      const [ok, cur, pttl] = await this.#redis.sgAcquire(this.keys.lease(cluster), this.#token, this.ms, `${this.self}\u0000`);
      if (ok === 1) {
        this.#held(cluster, started);
        return true;
      }
      this.holder = cur.split('\u0000')[0];
      const wait = Math.max(5, Number(pttl) + 5);
      if (performance.now() + wait > deadline) return false;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Whether {@link commit} publishes its posts itself (not on a Redis Cluster, where channels live in other slots). */
  get publishes(): boolean {
    return this.multiKey;
  }

  /**
   * Checks that the lease of `cluster` is still ours, renews it, writes
   * `snapshot` to `snapshotKey` and publishes `posts` — atomically. Resolves
   * to the listeners of each channel of each post, in order, or to false:
   * the lease is lost, and nothing was written or sent. Where it cannot
   * publish ({@link publishes} false) it sends nothing and answers [].
   */
  async commit(cluster: string, snapshotKey?: string, snapshot?: string, posts: readonly Post[] = []): Promise<number[] | false> {
    const started = performance.now();
    const together = snapshotKey !== undefined && this.multiKey;
    const args = together
      ? [2, this.keys.lease(cluster), snapshotKey, this.#token, this.ms, snapshot ?? '', ...posts.flatMap((p) => [p.channels.length, p.text, ...p.channels])]
      : [1, this.keys.lease(cluster), this.#token, this.ms];
    const [ok, ...listeners] = await this.#redis.sgCommit(...(args as [number, ...Array<string | number>]));
    if (ok !== 1) {
      this.#lost();
      return false;
    }
    this.#held(cluster, started);
    // Across cluster slots: the snapshot is written after the lease check, and before the write is acknowledged.
    if (snapshotKey !== undefined && !together) await this.#redis.set(snapshotKey, snapshot ?? '');
    return listeners.map(Number);
  }

  /** Gives the lease up (on hand-over or stop), so the next leader need not wait for it. */
  async release(): Promise<void> {
    const cluster = this.#cluster;
    this.#lost();
    if (cluster !== undefined) await this.#redis.sgRelease(this.keys.lease(cluster), this.#token);
  }

  /** Stops renewing (the lease then runs out by itself). */
  close(): void {
    this.#lost();
  }

  #held(cluster: string, since: number): void {
    // Counted from before the request was sent: the lease cannot have started earlier.
    this.#cluster = cluster;
    this.#validUntil = since + this.ms;
    if (this.#renewer) return;
    this.#renewer = setInterval(() => {
      const c = this.#cluster;
      if (c !== undefined) this.commit(c).catch(() => this.#lost());
    }, Math.max(10, Math.floor(this.ms / 3)));
    this.#renewer.unref();
  }

  #lost(): void {
    this.#cluster = undefined;
    this.#validUntil = 0;
    clearInterval(this.#renewer);
    this.#renewer = undefined;
  }
}
