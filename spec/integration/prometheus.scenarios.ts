/**
 * The Prometheus exporter's tests, written once and run against each backend
 * (prometheus.standalone.test.ts, prometheus.cluster.test.ts).
 */
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerGossipMetrics } from '../../lib/exporters/prometheus.js';
import { Keys } from '../../lib/transport/keys.js';
import type { Backend } from '../support/backends.js';
import { useNodes, eventually } from '../support/cluster.js';

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Scrapes `registry` and returns a lookup of one series' value (undefined when absent). */
async function scrape(registry: Registry) {
  const text = await registry.metrics();
  const samples = parse(text);
  const value = (name: string, labels: Record<string, string>): number | undefined => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  return { text, samples, value };
}

export function prometheusScenarios(backend: Backend): void {
  const { start, cluster, namespace } = useNodes(() => backend.connection());

  let cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    const steps = cleanup;
    cleanup = [];
    for (const step of steps.reverse()) await step();
  });

  function freshRegistry(): Registry {
    const registry = new Registry();
    cleanup.push(() => registry.clear());
    return registry;
  }

  describe(`the Prometheus exporter on ${backend.name} Redis`, () => {
    it('a scrape after some writes reports every series of every node, labelled with its id and namespace', async () => {
      const nodes = await cluster(['a', 'b', 'c']);
      const registry = freshRegistry();
      for (const n of nodes) cleanup.push(registerGossipMetrics(n, { registry }));
      const leader = nodes.find((n) => n.leader === n.id)!;
      const writer = nodes.find((n) => n.leader !== n.id)!;
      const others = nodes.filter((n) => n !== writer);
      const before = new Map(nodes.map((n) => [n, n.metrics().counters['changes.applied'] ?? 0]));
      for (let i = 0; i < 5; i++) await writer.setSync({ i });
      await writer.status();

      const { text, value } = await scrape(registry);
      const ns = namespace();
      const at = (n: { id: string }, extra: Record<string, string> = {}) => ({ node_id: n.id, namespace: ns, ...extra });

      for (const [name, type] of [
        ['simple_gossip_messages_sent_total', 'counter'],
        ['simple_gossip_sent_bytes_total', 'counter'],
        ['simple_gossip_messages_received_total', 'counter'],
        ['simple_gossip_received_bytes_total', 'counter'],
        ['simple_gossip_messages_dropped_total', 'counter'],
        ['simple_gossip_rpc_requests_total', 'counter'],
        ['simple_gossip_rpc_seconds_total', 'counter'],
        ['simple_gossip_changes_total', 'counter'],
        ['simple_gossip_state_reads_total', 'counter'],
        ['simple_gossip_anti_entropy_rounds_total', 'counter'],
        ['simple_gossip_node_key_writes_total', 'counter'],
        ['simple_gossip_version', 'gauge'],
        ['simple_gossip_version_lag', 'gauge'],
        ['simple_gossip_members', 'gauge'],
        ['simple_gossip_is_leader', 'gauge'],
        ['simple_gossip_ready', 'gauge'],
      ] as const) {
        expect(text).toContain(`# TYPE ${name} ${type}\n`);
        expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
      }
      // v1's series are gone: there are no pushes, leader commits, leases or accept-rule outcomes any more.
      for (const gone of ['pushes_total', 'merges_total', 'leader_commits_total', 'fenced_commits_total', 'writes_refused_total', 'reconciles_total', 'snapshot_writes_total']) {
        expect(text).not.toContain(`simple_gossip_${gone}`);
      }

      for (const n of nodes) {
        const snap = n.metrics();
        expect(value('simple_gossip_version', at(n))).toBeGreaterThanOrEqual(8); // 1 + two joins + five writes
        expect(value('simple_gossip_members', at(n))).toBe(3);
        expect(value('simple_gossip_version_lag', at(n))).toBe(0);
        expect(value('simple_gossip_is_leader', at(n))).toBe(n === leader ? 1 : 0);
        expect(value('simple_gossip_ready', at(n))).toBe(1);
        // Each node wrote its key when it joined, and read the merged state.
        expect(value('simple_gossip_node_key_writes_total', at(n))).toBeGreaterThanOrEqual(1);
        expect(value('simple_gossip_node_key_writes_total', at(n))).toBe(snap.snapshotWrites);
        expect(value('simple_gossip_state_reads_total', at(n))).toBeGreaterThanOrEqual(1);
        expect(value('simple_gossip_messages_dropped_total', at(n, { reason: 'bad_signature' }))).toBe(0);
        for (const outcome of ['applied', 'stale', 'read']) expect(value('simple_gossip_changes_total', at(n, { outcome }))).toBeGreaterThanOrEqual(0);
        // Counters only grow, so the scrape lies between two readings of the node.
        const received = Object.values(snap.received).reduce((sum, r) => sum + r.messages, 0);
        const scraped = [...text.matchAll(new RegExp(`^simple_gossip_messages_received_total\\{[^}]*node_id="${n.id}"[^}]*\\} (\\d+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
        expect(scraped).toBeGreaterThan(0);
        expect(scraped).toBeLessThanOrEqual(received);
      }
      // The writer installs its own changes from the script's answers; the script publishes each to the two others, who apply it.
      expect(value('simple_gossip_changes_total', at(writer, { outcome: 'applied' }))).toBe(before.get(writer));
      for (const n of others) {
        expect(value('simple_gossip_changes_total', at(n, { outcome: 'applied' }))).toBe(before.get(n)! + 5);
        expect(value('simple_gossip_messages_received_total', at(n, { type: 'change' }))).toBeGreaterThanOrEqual(5);
      }
      // Each member acked every setSync's change; status() asked every member for its version (vsn requests, answered).
      expect(value('simple_gossip_messages_received_total', at(writer, { type: 'ack' }))).toBe(5 * others.length);
      for (const n of others) expect(value('simple_gossip_messages_sent_total', at(n, { type: 'ack' }))).toBe(5);
      expect(value('simple_gossip_rpc_requests_total', at(writer, { type: 'vsn', outcome: 'answered' }))).toBe(others.length);
      expect(value('simple_gossip_rpc_seconds_total', at(writer, { type: 'vsn' }))).toBeGreaterThan(0);
      // What travels is the change (one small key), not the state.
      const sum = (name: string, extra: Record<string, string> = {}) => others.reduce((t, n) => t + (value(name, at(n, extra)) ?? 0), 0);
      const perChange = sum('simple_gossip_received_bytes_total', { type: 'change' }) / sum('simple_gossip_messages_received_total', { type: 'change' });
      expect(perChange).toBeGreaterThan(50);
      expect(perChange).toBeLessThan(1_000);
    });

    it('the latency histograms come as cumulative _bucket series (le in seconds, +Inf last), _sum and _count, as the node counted them', async () => {
      const [a, b] = await cluster(['a', 'b']);
      const registry = freshRegistry();
      cleanup.push(registerGossipMetrics(a!, { registry }), registerGossipMetrics(b!, { registry }));
      const before = a!.metrics().latency;
      for (let i = 0; i < 3; i++) await a!.setSync({ i });
      await a!.setCfg('j', 1);
      await a!.set((cur: object | undefined) => ({ change: { ...cur, k: 2 } }));

      const { text, samples, value } = await scrape(registry);
      const after = a!.metrics().latency;
      expect(after.write.count).toBe(before.write.count + 5);
      expect(after.convergence.count).toBe(before.convergence.count + 3);
      for (const [name, kind] of [
        ['simple_gossip_write_duration_seconds', 'write'],
        ['simple_gossip_convergence_duration_seconds', 'convergence'],
        ['simple_gossip_catch_up_duration_seconds', 'catchUp'],
      ] as const) {
        expect(text).toContain(`# TYPE ${name} histogram\n`);
        expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
        for (const n of [a!, b!]) {
          const h = n.metrics().latency[kind];
          const buckets = samples.filter((s) => s.name === `${name}_bucket` && s.labels.node_id === n.id);
          expect(buckets.map((s) => s.labels.le)).toEqual([...h.boundsMs.map((ms) => String(ms / 1000)), '+Inf']);
          expect(buckets.map((s) => s.value)).toEqual(h.counts.map((_, i) => h.counts.slice(0, i + 1).reduce((x, y) => x + y, 0)));
          expect(buckets.at(-1)!.value).toBe(h.count);
          expect(value(`${name}_count`, { node_id: n.id })).toBe(h.count);
          expect(value(`${name}_sum`, { node_id: n.id })).toBeCloseTo(h.sumMs / 1000, 9);
        }
      }
      expect(value('simple_gossip_write_duration_seconds_count', { node_id: 'a' })).toBe(after.write.count);
      expect(value('simple_gossip_write_duration_seconds_sum', { node_id: 'a' })).toBeGreaterThan(0);
      expect(value('simple_gossip_write_duration_seconds_bucket', { node_id: 'a', le: '0.00025' })).toBeLessThanOrEqual(after.write.count);
      expect(value('simple_gossip_convergence_duration_seconds_count', { node_id: 'a' })).toBe(after.convergence.count);
      expect(value('simple_gossip_write_duration_seconds_count', { node_id: 'b' })).toBe(0);
      // The JSON form (what prom-client's AggregatorRegistry merges across workers) carries them too.
      const json = await registry.getMetricsAsJSON();
      const write = json.find((m) => m.name === 'simple_gossip_write_duration_seconds');
      expect(write?.type).toBe('histogram');
      expect(write?.values.find((v) => (v as { metricName?: string }).metricName === 'simple_gossip_write_duration_seconds_count' && v.labels.node_id === 'a')?.value).toBe(after.write.count);
    });

    it('values are read from the node at each scrape', async () => {
      const [a, b] = await cluster(['a', 'b']);
      const registry = freshRegistry();
      cleanup.push(registerGossipMetrics(a!, { registry }), registerGossipMetrics(b!, { registry }));
      const before = await scrape(registry);
      const v = a!.version;
      expect(before.value('simple_gossip_version', { node_id: 'a' })).toBe(v);
      expect(before.value('simple_gossip_is_leader', { node_id: 'a' })).toBe(1);
      expect(before.value('simple_gossip_is_leader', { node_id: 'b' })).toBe(0);
      await a!.setSync('one');
      await a!.setSync('two');
      const after = await scrape(registry);
      expect(after.value('simple_gossip_version', { node_id: 'a' })).toBe(v + 2);
      expect(after.value('simple_gossip_version', { node_id: 'b' })).toBe(v + 2);
      expect(after.value('simple_gossip_changes_total', { node_id: 'b', outcome: 'applied' })).toBe(before.value('simple_gossip_changes_total', { node_id: 'b', outcome: 'applied' })! + 2);
      // A stopping leader hands over (one more version); the stopped node keeps its last values.
      await a!.stop();
      const stopped = await scrape(registry);
      expect(stopped.value('simple_gossip_ready', { node_id: 'a' })).toBe(0);
      expect(stopped.value('simple_gossip_version', { node_id: 'a' })).toBe(a!.metrics().version);
      expect(stopped.value('simple_gossip_version', { node_id: 'a' })).toBeGreaterThanOrEqual(v + 2);
    });

    it('dropped messages are counted by reason', async () => {
      const a = await start('a');
      a.on('error', () => undefined);
      const registry = freshRegistry();
      cleanup.push(registerGossipMetrics(a, { registry }));
      const channel = new Keys(namespace(), true).node('a');
      await backend.publish(channel, '{not json');
      await backend.publish(channel, '{not json either');
      await eventually(() => a.metrics().dropped.bad_json === 2);
      const { value } = await scrape(registry);
      expect(value('simple_gossip_messages_dropped_total', { node_id: 'a', reason: 'bad_json' })).toBe(2);
      expect(value('simple_gossip_messages_dropped_total', { node_id: 'a', reason: 'too_big' })).toBe(0);
    });

    it('a custom prefix names every metric, and unregistering the last node removes them', async () => {
      const [a, b] = await cluster(['a', 'b']);
      const registry = freshRegistry();
      const offA = registerGossipMetrics(a!, { registry, prefix: 'myapp_gossip_' });
      const offB = registerGossipMetrics(b!, { registry, prefix: 'myapp_gossip_' });
      cleanup.push(offA, offB);
      const both = await scrape(registry);
      expect(both.samples.every((s) => s.name.startsWith('myapp_gossip_'))).toBe(true);
      expect(both.value('myapp_gossip_members', { node_id: 'a' })).toBe(2);
      expect(both.value('myapp_gossip_members', { node_id: 'b' })).toBe(2);

      offA();
      const onlyB = await scrape(registry);
      expect(onlyB.value('myapp_gossip_members', { node_id: 'a' })).toBeUndefined();
      expect(onlyB.value('myapp_gossip_members', { node_id: 'b' })).toBe(2);

      offB();
      offB(); // twice is harmless
      expect(registry.getMetricsAsArray()).toHaveLength(0);
      expect(await registry.metrics()).toBe('\n');
    });

    it('registering a node twice reports it once', async () => {
      const a = await start('a');
      const registry = freshRegistry();
      cleanup.push(registerGossipMetrics(a, { registry }), registerGossipMetrics(a, { registry }));
      const { samples } = await scrape(registry);
      expect(samples.filter((s) => s.name === 'simple_gossip_version')).toHaveLength(1);
    });

    it('the metrics come back after the registry was cleared', async () => {
      const a = await start('a');
      const registry = freshRegistry();
      registerGossipMetrics(a, { registry });
      registry.clear();
      cleanup.push(registerGossipMetrics(a, { registry }));
      const { value } = await scrape(registry);
      expect(value('simple_gossip_version', { node_id: 'a' })).toBe(1);
    });

    it('a name already taken in the registry is refused, and the metric that holds it is left alone', async () => {
      const a = await start('a');
      const registry = freshRegistry();
      const theirs = new Counter({ name: 'simple_gossip_changes_total', help: 'not ours', registers: [registry] });
      theirs.inc(41);
      expect(() => registerGossipMetrics(a, { registry })).toThrow(/already been registered/);
      expect(registry.getSingleMetric('simple_gossip_changes_total')).toBe(theirs);
      expect(registry.getMetricsAsArray()).toHaveLength(1);
      // The same node under another prefix is fine.
      cleanup.push(registerGossipMetrics(a, { registry, prefix: 'other_' }));
      const { value } = await scrape(registry);
      expect(value('simple_gossip_changes_total', {})).toBe(41);
      expect(value('other_changes_total', { node_id: 'a', outcome: 'applied' })).toBe(0);
    });

    it("the default registry is prom-client's global one", async () => {
      const { register } = await import('prom-client');
      const a = await start('a');
      const off = registerGossipMetrics(a);
      cleanup.push(off);
      expect(await register.metrics()).toMatch(/^simple_gossip_version\{node_id="a",namespace="[^"]+"\} 1$/m);
      off();
      expect(register.getSingleMetric('simple_gossip_version')).toBeUndefined();
    });
  });
}
