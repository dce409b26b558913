import { describe, expect, it } from 'vitest';
import { STAR_GAP_PER_MEMBER_MS } from '../../lib/constants.js';
import type { Rumor } from '../../lib/model/rumor.js';
import { Pushes } from '../../lib/node/pushes.js';
import type { Wire } from '../../lib/transport/wire.js';

/** A wire that records each push and answers, per target, whether anyone listened. */
function fakeWire(absent: ReadonlySet<string> = new Set()) {
  const sent: Array<{ version: number; targets: string[]; star: boolean }> = [];
  const wire = {
    push: async (rumor: Rumor, targets: readonly string[], _root?: string, star = false) => {
      sent.push({ version: rumor.version, targets: [...targets], star });
      return targets.filter((t) => absent.has(t));
    },
  } as unknown as Wire;
  return { wire, sent };
}

const rumor = (version: number, nodes = ['a', 'b', 'c', 'd', 'e']): Rumor<number> => ({
  cluster: 'a@1', version, vclock: {}, data: version, leader: 'a', nodes, fanout: 2, gossipIntervalMs: 1000,
});
const gap = STAR_GAP_PER_MEMBER_MS * 4;

describe('Pushes', () => {
  it('a lone change goes out at once, as a star to every other member but the sender', async () => {
    const { wire, sent } = fakeWire();
    const p = new Pushes<number>('a', true, wire);
    p.push({ rumor: rumor(2), root: 'a', from: 'b', extra: [] });
    await p.pushed();
    expect(sent).toEqual([{ version: 2, targets: ['c', 'd', 'e'], star: true }]);
  });

  it('under load stars are paced: changes within the gap wait, and only the newest goes, to everyone', async () => {
    const { wire, sent } = fakeWire();
    const p = new Pushes<number>('a', true, wire);
    const t0 = performance.now();
    for (let v = 2; v <= 20; v++) p.push({ rumor: rumor(v), root: 'a', from: 'b', extra: v === 3 ? ['z'] : [] });
    await p.pushed();
    expect(sent.map((s) => s.version)).toEqual([2, 20]);
    // The merged wave keeps the extra target, and skips no writer: any of them may lack the newest.
    expect(sent[1]!.targets).toEqual(['b', 'c', 'd', 'e', 'z']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(gap - 1);
    expect(p.mayStar(rumor(21))).toBe(false);
    await new Promise((r) => setTimeout(r, gap + 5));
    expect(p.mayStar(rumor(21))).toBe(true);
  });

  it('a star published in the commit script counts for pacing, and nothing else is sent', async () => {
    const { wire, sent } = fakeWire();
    const p = new Pushes<number>('a', true, wire);
    p.published(rumor(2), 'a', { targets: ['c', 'd', 'e'], listeners: [1, 1, 1] });
    expect(p.mayStar(rumor(3))).toBe(false);
    p.push({ rumor: rumor(3), root: 'a', from: undefined, extra: [] });
    await p.pushed();
    expect(sent).toEqual([{ version: 3, targets: ['b', 'c', 'd', 'e'], star: true }]);
  });

  it('down a broadcast tree (no fan-out), a child nobody listens for has its children served by the sender', async () => {
    const { wire, sent } = fakeWire(new Set(['b']));
    const p = new Pushes<number>('a', false, wire);
    p.push({ rumor: rumor(2), root: 'a', from: undefined, extra: [] });
    await p.pushed();
    expect(sent[0]).toMatchObject({ version: 2, star: false });
    expect(sent[0]!.targets).toContain('b');
    // b's own children in a's tree come next, and nobody gets it twice.
    const all = sent.flatMap((s) => s.targets);
    expect(new Set(all).size).toBe(all.length);
    expect(sent.length).toBeGreaterThan(1);
  });
});
