import { describe, expect, it } from 'vitest';
import { MAX_VERSION_HOLD_MS } from '../../lib/constants.js';
import { PropagationTimeoutError } from '../../lib/errors.js';
import { awaitVersion, required } from '../../lib/propagation.js';
import type { Poller } from '../../lib/propagation.js';

/**
 * Members that reach versions when the test says so. Each one answers a
 * version request like a node does: at once when it holds the version,
 * else when it gets there or when the hold is over, with what it holds.
 */
class FakeMembers implements Poller {
  readonly asked: Array<{ node: string; atLeast: number; holdMs: number }> = [];
  readonly #versions = new Map<string, number>();
  readonly #waiting = new Set<{ node: string; atLeast: number; done: () => void }>();
  readonly #silent = new Set<string>();

  constructor(versions: Record<string, number>) {
    for (const [n, v] of Object.entries(versions)) this.#versions.set(n, v);
  }

  nodes(): readonly string[] {
    return [...this.#versions.keys()];
  }

  /** `node` answers nothing from now on (a request to it fails as a timeout would). */
  silence(node: string): void {
    this.#silent.add(node);
  }

  reach(node: string, version: number): void {
    this.#versions.set(node, version);
    for (const w of this.#waiting) if (w.node === node && version >= w.atLeast) w.done();
  }

  version(node: string, atLeast: number, holdMs: number): Promise<number | undefined> {
    this.asked.push({ node, atLeast, holdMs });
    if (this.#silent.has(node)) return new Promise((resolve) => setTimeout(() => resolve(undefined), holdMs + 5));
    const now = this.#versions.get(node)!;
    if (now >= atLeast || holdMs === 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const w = {
        node,
        atLeast,
        done: () => {
          clearTimeout(timer);
          this.#waiting.delete(w);
          resolve(this.#versions.get(node));
        },
      };
      const timer = setTimeout(w.done, holdMs);
      this.#waiting.add(w);
    });
  }
}

describe('required', () => {
  it('all, a majority, or a count capped at the member count', () => {
    expect(required('all', 5)).toBe(5);
    expect(required('majority', 5)).toBe(3);
    expect(required('majority', 4)).toBe(3);
    expect(required(2, 5)).toBe(2);
    expect(required(9, 5)).toBe(5);
    expect(() => required(0, 5)).toThrow(RangeError);
    expect(() => required(1.5, 5)).toThrow(RangeError);
  });
});

describe('awaitVersion', () => {
  it('resolves when the last member gets the version, having asked each member once', async () => {
    const m = new FakeMembers({ a: 5, b: 4, c: 4 });
    let done = false;
    const waiting = awaitVersion(m, 5, { timeoutMs: 5_000 }).then(() => void (done = true));
    await new Promise((r) => setTimeout(r, 30));
    m.reach('b', 5);
    await new Promise((r) => setTimeout(r, 30));
    expect(done).toBe(false);
    m.reach('c', 6);
    await waiting;
    expect(m.asked.map((a) => a.node)).toEqual(['a', 'b', 'c']);
    expect(m.asked.every((a) => a.atLeast === 5 && a.holdMs === MAX_VERSION_HOLD_MS)).toBe(true);
  });

  it("wait: 'majority' resolves without the slowest member", async () => {
    const m = new FakeMembers({ a: 7, b: 6, c: 6 });
    const waiting = awaitVersion(m, 7, { wait: 'majority', timeoutMs: 5_000 });
    m.reach('c', 7);
    await waiting;
  });

  it('at the deadline, names the members still behind and the version each holds', async () => {
    const m = new FakeMembers({ a: 3, b: 2, c: 3 });
    m.silence('c');
    const err = await awaitVersion(m, 3, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PropagationTimeoutError);
    expect((err as PropagationTimeoutError).laggards).toEqual([
      { nodeId: 'b', version: 2 },
      { nodeId: 'c', version: undefined },
    ]);
  });

  it('asks again after a hold runs out, and still resolves when the member gets there', async () => {
    const m = new FakeMembers({ a: 2, b: 1 });
    const waiting = awaitVersion(m, 2, { timeoutMs: MAX_VERSION_HOLD_MS + 2_000 });
    await new Promise((r) => setTimeout(r, MAX_VERSION_HOLD_MS + 100));
    m.reach('b', 2);
    await waiting;
    expect(m.asked.filter((a) => a.node === 'b').length).toBe(2);
  });

  it('an abort rejects with the signal’s reason, even while members hold the request', async () => {
    const m = new FakeMembers({ a: 2, b: 1 });
    const ac = new AbortController();
    const waiting = awaitVersion(m, 2, { timeoutMs: 5_000, signal: ac.signal });
    ac.abort(new Error('enough'));
    await expect(waiting).rejects.toThrow('enough');
  });
});
