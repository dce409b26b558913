/**
 * Bytes into and out of Redis for ONE 500-byte setCfg, with 10 members and a
 * 100 KB config, read from the bench's own redis-server (INFO stats:
 * total_net_input_bytes / total_net_output_bytes) while nothing else uses it:
 * the 10 members run in this process, nothing else is connected but the
 * connection that reads INFO. Each run: INFO, setCfg from a non-leader,
 * wait until every member's 'data' event has it (+ 20 ms), INFO. The same
 * deltas around an idle window as long measure INFO's own bytes (and any
 * tick that falls in); the figure is the median write delta minus the
 * median idle delta.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Gossip } from '../lib/index.js';
import type { Ctx } from './results.js';
import { formCluster } from './in-process.js';
import { median, now, pool, sleep, until, within } from './stats.js';

const MEMBERS = 10;
const KEYS = 200;
const VALUE_BYTES = 500;

type Cfg = Record<string, string>;

const text = (seed: number, bytes: number) => `${seed}:`.padEnd(bytes, 'x');

async function netBytes(info: Redis): Promise<{ in: number; out: number; clients: number }> {
  const [stats, clients] = await Promise.all([info.info('stats'), info.info('clients')]);
  const field = (s: string, name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(s)?.[1] ?? Number.NaN);
  return { in: field(stats, 'total_net_input_bytes'), out: field(stats, 'total_net_output_bytes'), clients: field(clients, 'connected_clients') };
}

export async function redisTraffic(ctx: Ctx): Promise<void> {
  const namespace = `bench-traffic-${randomBytes(4).toString('hex')}`;
  const info = new Redis(ctx.redisUrl);
  const nodes = await pool(
    Array.from({ length: MEMBERS }, (_, i) => `t-${i}`),
    5,
    (nodeId) => Gossip.start<Cfg>({ redis: ctx.redisUrl, namespace, nodeId }),
  );
  try {
    await formCluster(nodes);
    const config: Cfg = Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`key${String(i).padStart(3, '0')}`, text(i, VALUE_BYTES)]));
    const configBytes = Buffer.byteLength(JSON.stringify(config));
    await nodes[0]!.patchCfg(config);
    await until(() => nodes.every((x) => x.version === nodes[0]!.version && x.getCfg('key199') === config.key199), 30_000, 'the 100 KB config on every member');
    const writer = nodes.find((x) => x.id !== x.leader)!;
    ctx.log(`redis traffic: one ${VALUE_BYTES}-byte setCfg, ${MEMBERS} members, a ${Math.round(configBytes / 1024)} KiB config; ${ctx.plan.trafficRuns} runs`);

    const write: Array<{ in: number; out: number }> = [];
    const idle: Array<{ in: number; out: number }> = [];
    const converged: number[] = [];
    let clients = 0;
    for (let r = 0; r < ctx.plan.trafficRuns; r++) {
      const key = `key${String((r * 37) % KEYS).padStart(3, '0')}`;
      const value = text(1_000 + r, VALUE_BYTES);
      await sleep(50);
      const a = await netBytes(info);
      const t0 = now();
      const all = Promise.all(
        nodes.map(
          (x) =>
            new Promise<void>((resolve) => {
              const off = x.onKey(key, (v) => {
                if (v !== value) return;
                off();
                resolve();
              });
            }),
        ),
      );
      await writer.setCfg(key, value);
      if ((await within(all, 5_000)) === undefined) throw new Error(`setCfg ${key} had not reached every member after 5 s`);
      const took = now() - t0;
      converged.push(took);
      await sleep(20);
      const b = await netBytes(info);
      write.push({ in: b.in - a.in, out: b.out - a.out });
      clients = b.clients;
      await sleep(50);
      const c = await netBytes(info);
      await sleep(took + 20);
      const d = await netBytes(info);
      idle.push({ in: d.in - c.in, out: d.out - c.out });
    }
    const m = (xs: Array<{ in: number; out: number }>, k: 'in' | 'out') => median(xs.map((x) => x[k]));
    ctx.results.redisTraffic = {
      members: MEMBERS,
      configBytes,
      valueBytes: VALUE_BYTES,
      runs: ctx.plan.trafficRuns,
      writeInBytes: m(write, 'in'),
      writeOutBytes: m(write, 'out'),
      idleInBytes: m(idle, 'in'),
      idleOutBytes: m(idle, 'out'),
      inBytes: m(write, 'in') - m(idle, 'in'),
      outBytes: m(write, 'out') - m(idle, 'out'),
      connectedClients: clients,
      convergedMs: median(converged),
    };
  } finally {
    info.disconnect();
    await within(Promise.all(nodes.map((x) => x.stop().catch(() => undefined))), 30_000);
  }
}
