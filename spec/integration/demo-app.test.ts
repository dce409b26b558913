import { afterEach, describe, expect, it } from 'vitest';
import { FLAG } from '../../demo/app.js';
import { LocalMember } from '../../demo/members.js';
import type { HttpAnswer, View, WriteAck } from '../../demo/protocol.js';
import { eventually } from '../support/cluster.js';
import { freshNamespace, useRedis } from '../support/redis.js';

// The demo's node process (demo/node.ts), spawned as the tour spawns it, with its HTTP application.
const redis = useRedis();

let members: LocalMember[] = [];
afterEach(() => {
  for (const m of members) m.abandon();
  members = [];
});

function member(namespace: string, nodeId: string): LocalMember {
  const m = new LocalMember({ redis: redis(), namespace, nodeId });
  members.push(m);
  return m;
}

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the demo node', () => {
  it('serves on 127.0.0.1 an answer that follows the flag, on every node, whichever node switches it', async () => {
    const namespace = freshNamespace('demo');
    const [a, b] = [member(namespace, 'app-a'), member(namespace, 'app-b')];
    const ready = await Promise.all([a.start(20_000), b.start(20_000)]);
    for (const r of ready) expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(ready[0].url).not.toBe(ready[1].url);
    await eventually(async () => (await Promise.all([a, b].map((m) => m.call<View>({ cmd: 'view' })))).every((v) => v.nodes.length === 2), 10_000, 'one cluster');

    expect(await get(a.url!)).toEqual({ status: 200, body: { node: 'app-a', checkout: 'classic' } });
    expect(await get(b.url!)).toEqual({ status: 200, body: { node: 'app-b', checkout: 'classic' } });
    expect(await get(new URL('/other', a.url).href)).toEqual({ status: 404, body: { error: 'not found' } });

    await a.call<WriteAck>({ cmd: 'setCfg', key: FLAG, value: true });
    await eventually(async () => (await get(b.url!)).body.checkout === 'new', 5_000, 'b to answer new');
    expect(await get(a.url!)).toEqual({ status: 200, body: { node: 'app-a', checkout: 'new' } });

    await b.call<WriteAck>({ cmd: 'setCfg', key: FLAG, value: false });
    await eventually(async () => (await get(a.url!)).body.checkout === 'classic', 5_000, 'a to answer classic');
    expect(await get(b.url!)).toEqual({ status: 200, body: { node: 'app-b', checkout: 'classic' } });

    // How a tour in another container polls it: the node fetches its own application on its loopback.
    const relayed = await a.call<HttpAnswer>({ cmd: 'fetch' });
    expect(relayed.status).toBe(200);
    expect(JSON.parse(relayed.body)).toEqual({ node: 'app-a', checkout: 'classic' });

    const url = a.url!;
    expect(await a.stop()).toEqual({ code: 0, signal: null });
    await expect(fetch(url, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
