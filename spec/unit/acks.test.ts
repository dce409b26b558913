import { describe, expect, it } from 'vitest';
import { Acks } from '../../lib/transport/acks.js';

const head = (cluster: string, version: number) => ({ cluster, version, hash: 'a'.repeat(40) });

describe('Acks', () => {
  it('an ack that came before the wait answers it at once, with the version acked', async () => {
    const acks = new Acks();
    acks.record('b', head('c1', 7));
    expect(await acks.wait('b', 'c1', 5, 1_000)).toBe(7);
    expect(await acks.wait('b', 'c1', 7, 0)).toBe(7);
  });

  it('a wait ends when the ack comes', async () => {
    const acks = new Acks();
    const waiting = acks.wait('b', 'c1', 3, 5_000);
    acks.record('b', head('c1', 3));
    expect(await waiting).toBe(3);
  });

  it('an ack below the version, of another cluster or from another member does not end the wait', async () => {
    const acks = new Acks();
    const waiting = acks.wait('b', 'c1', 3, 50);
    acks.record('b', head('c1', 2));
    acks.record('b', head('c2', 9));
    acks.record('c', head('c1', 9));
    expect(await waiting).toBeUndefined();
  });

  it('keeps the highest version acked in a cluster: an older ack arriving late does not lower it', async () => {
    const acks = new Acks();
    acks.record('b', head('c1', 9));
    acks.record('b', head('c1', 4));
    expect(await acks.wait('b', 'c1', 9, 0)).toBe(9);
  });

  it('a member that moved to another cluster is held there from its first ack of it', async () => {
    const acks = new Acks();
    acks.record('b', head('c1', 9));
    acks.record('b', head('c2', 2));
    expect(await acks.wait('b', 'c1', 1, 0)).toBeUndefined();
    expect(await acks.wait('b', 'c2', 2, 0)).toBe(2);
  });

  it('without an ack within the wait: undefined (the caller asks the member instead)', async () => {
    const acks = new Acks();
    const t0 = Date.now();
    expect(await acks.wait('b', 'c1', 1, 30)).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(await acks.wait('b', 'c1', 1, 0)).toBeUndefined();
  });

  it('close lets every wait go without an ack', async () => {
    const acks = new Acks();
    const waits = [acks.wait('b', 'c1', 1, 60_000), acks.wait('c', 'c1', 1, 60_000)];
    acks.close();
    expect(await Promise.all(waits)).toEqual([undefined, undefined]);
  });

  it('two waits for one member both end on its ack', async () => {
    const acks = new Acks();
    const waits = [acks.wait('b', 'c1', 2, 5_000), acks.wait('b', 'c1', 3, 5_000)];
    acks.record('b', head('c1', 3));
    expect(await Promise.all(waits)).toEqual([3, 3]);
  });
});
