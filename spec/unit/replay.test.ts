import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_MS } from '../../lib/constants.js';
import { ReplayGuard } from '../../lib/transport/replay.js';

const W = 1_000;

describe('ReplayGuard', () => {
  it('accepts a request id once', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'c1', 5_000, 5_000)).toBe(true);
  });

  it('rejects the same request id from the same sender a second time', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'c1', 5_000, 5_000)).toBe(true);
    expect(guard.accept('a', 'c1', 5_000, 5_001)).toBe(false);
    expect(guard.accept('a', 'c1', 5_000, 5_500)).toBe(false);
  });

  it('tells senders apart: the same id from another sender is a different request', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'c1', 5_000, 5_000)).toBe(true);
    expect(guard.accept('b', 'c1', 5_000, 5_000)).toBe(true);
    expect(guard.accept('a', 'c2', 5_000, 5_000)).toBe(true);
  });

  it('sender and id cannot be shifted into each other', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('ab', 'c', 5_000, 5_000)).toBe(true);
    expect(guard.accept('a', 'bc', 5_000, 5_000)).toBe(true);
  });

  it('rejects a timestamp older than the window, and accepts one at its edge', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'old', 5_000 - W - 1, 5_000)).toBe(false);
    expect(guard.accept('a', 'edge', 5_000 - W, 5_000)).toBe(true);
  });

  it('rejects a timestamp further in the future than the window', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'future', 5_000 + W + 1, 5_000)).toBe(false);
    expect(guard.accept('a', 'edge', 5_000 + W, 5_000)).toBe(true);
  });

  it('a rejected stale request is not remembered', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'c1', 0, 5_000)).toBe(false);
    expect(guard.accept('a', 'c1', 5_000, 5_000)).toBe(true);
  });

  it('a replay long after is rejected (by its timestamp) even once its id is forgotten', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'c1', 0, 0)).toBe(true);
    // Later traffic sweeps old ids.
    for (let t = 2 * W; t <= 10 * W; t += W) guard.accept('b', `x${t}`, t, t);
    expect(guard.accept('a', 'c1', 0, 10 * W)).toBe(false);
  });

  it('keeps an id for as long as its timestamp alone would let it in, even from a clock ahead by the window', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'ahead', W, 0)).toBe(true);
    // This sweep, at 2 W, must not forget it yet: its timestamp is still in the window.
    expect(guard.accept('b', 'y', 2 * W, 2 * W)).toBe(true);
    expect(guard.accept('a', 'ahead', W, 2 * W)).toBe(false);
  });

  it('uses Date.now() when no time is given', () => {
    const guard = new ReplayGuard(W);
    expect(guard.accept('a', 'c1', Date.now())).toBe(true);
    expect(guard.accept('a', 'c1', Date.now())).toBe(false);
    expect(guard.accept('a', 'c2', Date.now() - 10 * W)).toBe(false);
  });

  it('the default window is one minute', () => {
    expect(REPLAY_WINDOW_MS).toBe(60_000);
  });
});
