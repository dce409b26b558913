/**
 * The model and the real system for the model-based test
 * (spec/integration/model.test.ts): what the clusters of a namespace should
 * look like (DESIGN.md §1, v2), the live nodes and subscribers, and the
 * check that compares the two once the nodes have settled.
 *
 * The model, in short:
 * - Every node is in exactly one cluster. A fresh node starts a cluster of
 *   its own at version 1 whose data was never written.
 * - Any member writes (no leader in the write path): a write is one commit
 *   on its cluster, +1 on the version, with a commit time (the model's clock
 *   stands in for Redis's: the test's commands run one after the other, so
 *   the later command's write is the later). A config write changes only
 *   its keys; removing keys that are not there commits nothing.
 * - join(id): the caller's cluster takes in id's whole cluster. Members: the
 *   union; leader: the caller's cluster's; version: max(both) + 1; data:
 *   config data (plain objects) key by key — every key of either side
 *   survives, a key both wrote keeps the later write; otherwise the side
 *   written last wins; a side never written never wins (set(undefined) is a
 *   write). The absorbed cluster is gone: its stopped members belong to the
 *   cluster that took it in.
 * - leave(id): the removed node goes on alone (a cluster of its own) with
 *   the data it had, at its version + 1 — versions only go up for a node's
 *   subscribers. One removed while it was stopped finds out when it
 *   restarts: alone with the data of the cluster that removed it, at the
 *   higher of that cluster's version and its own, + 1.
 * - stop keeps membership; a restarted member adopts its cluster's state
 *   from Redis, whether or not another member runs.
 * - The leader does housekeeping only. It moves when it stops (it hands
 *   over: one commit) or leaves, and while the one the cluster names does
 *   not run a member commits a new one (one commit each): the model then
 *   knows the version only as a floor, and learns leader and version once
 *   the nodes settle on a running leader. Otherwise it never moves.
 */
import { isDeepStrictEqual } from 'node:util';
import { Gossip, SubscriberError } from '../../lib/index.js';
import type { GossipOptions } from '../../lib/index.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** What the tests store: JSON-ish data, or undefined (cleared / never set). */
export type Value = Json | undefined;

/** A config key's value and the commit time of its last write. */
export interface KeyEntry {
  readonly value: Json;
  readonly at: number;
}

/** A cluster's data as the commit scripts keep it. */
export interface Data {
  /** 'v': one whole value (or none: undefined); 'c': a plain object, key by key. */
  mode: 'v' | 'c';
  /** The commit time of the last data write; 0: never written. */
  wt: number;
  /** Mode 'v': the value. */
  value: Value;
  /** Mode 'c': each key's value and last write time. */
  keys: Map<string, KeyEntry>;
}

export interface Cluster {
  /** The model's name for it (C1, C2…); the test learns the real id from the nodes. */
  readonly name: string;
  /** Members, stopped ones included; in the order the lib is told to keep (not checked: only that members share one order). */
  members: string[];
  data: Data;
  /** Exact when `exact`; otherwise a floor (leader changes the model cannot count may have been committed). */
  version: number;
  exact: boolean;
  /** Undefined while the leader moves (it stopped or left): it lands on some running member. */
  leader: string | undefined;
  /** Set once a join took this cluster into another (its hash is deleted). */
  absorbedInto: string | undefined;
  /** Its id in the nodes, learned when they settle on it. */
  realId: string | undefined;
}

export interface NodeModel {
  running: boolean;
  /** Running: the cluster it is in. Stopped: the cluster its node key names (maybe absorbed since). */
  cluster: string;
  /** Stopped: the version its node key holds (exact when keyExact, else a floor). */
  keyVersion: number;
  keyExact: boolean;
  /** Stopped: the members its node key lists (whom it asks when its cluster's hash is gone). */
  keyNodes: readonly string[];
  /** Stopped and removed meanwhile: the cluster that removed it. */
  removedFrom: string | undefined;
}

export interface SubModel {
  readonly label: string;
  readonly nodeId: string;
  readonly kind: 'listener' | 'thrower';
  /** False once unsubscribed or once its node stopped. */
  active: boolean;
}

/** What the namespace should hold: every cluster ever made, every node, the model's clock. */
export interface Model {
  readonly ids: readonly string[];
  readonly clusters: Map<string, Cluster>;
  readonly nodes: Map<string, NodeModel>;
  /** The model's commit clock: +1 on every data write. */
  clock: number;
  nextCluster: number;
  readonly subs: SubModel[];
}

const neverWritten = (): Data => ({ mode: 'v', wt: 0, value: undefined, keys: new Map() });

/** Every node on its own: a fresh node starts a cluster of its own at version 1, its data never written. */
export function initialModel(ids: readonly string[]): Model {
  const m: Model = { ids, clusters: new Map(), nodes: new Map(), clock: 0, nextCluster: 1, subs: [] };
  for (const id of ids) {
    const c = newCluster(m, id, neverWritten(), 1, true);
    m.nodes.set(id, { running: true, cluster: c.name, keyVersion: 0, keyExact: true, keyNodes: [], removedFrom: undefined });
  }
  return m;
}

function newCluster(m: Model, id: string, data: Data, version: number, exact: boolean): Cluster {
  const c: Cluster = { name: `C${m.nextCluster++}`, members: [id], data, version, exact, leader: id, absorbedInto: undefined, realId: undefined };
  m.clusters.set(c.name, c);
  return c;
}

// ---- queries ----------------------------------------------------------------

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();
export const isRunning = (m: Readonly<Model>, id: string): boolean => m.nodes.get(id)?.running === true;
export const runningNodes = (m: Readonly<Model>): string[] => sorted(m.ids.filter((id) => isRunning(m, id)));
export const stoppedNodes = (m: Readonly<Model>): string[] => sorted(m.ids.filter((id) => !isRunning(m, id)));
export const activeSubs = (m: Readonly<Model>): SubModel[] => m.subs.filter((s) => s.active);

/** The cluster a cluster lives on as (itself, or the one that took it in, and so on). */
export function lineage(m: Readonly<Model>, name: string): Cluster {
  let c = m.clusters.get(name)!;
  while (c.absorbedInto !== undefined) c = m.clusters.get(c.absorbedInto)!;
  return c;
}

/** The cluster a running node is in. */
export function home(m: Readonly<Model>, id: string): Cluster {
  const n = m.nodes.get(id)!;
  if (!n.running) throw new Error(`model: ${id} is stopped`);
  return m.clusters.get(n.cluster)!;
}

/** The clusters that exist (not absorbed), with their running members. */
export function liveClusters(m: Readonly<Model>): Cluster[] {
  return [...m.clusters.values()].filter((c) => c.absorbedInto === undefined);
}

export const runningMembers = (m: Readonly<Model>, c: Cluster): string[] => sorted(c.members.filter((id) => isRunning(m, id)));
export const stoppedMembers = (m: Readonly<Model>, c: Cluster): string[] => sorted(c.members.filter((id) => !isRunning(m, id)));

export const isPlainObject = (v: Value): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The data a cluster's members get() (in config mode an object of its keys). */
export function dataValue(d: Readonly<Data>): Value {
  if (d.mode === 'v') return d.value;
  return Object.fromEntries([...d.keys].map(([k, e]) => [k, e.value]));
}

const copyData = (d: Readonly<Data>): Data => ({ mode: d.mode, wt: d.wt, value: d.value, keys: new Map(d.keys) });

/** Whether config writes (setCfg/deleteCfg/patchCfg) apply: the data is an object of keys, or undefined. */
export const takesConfigWrites = (d: Readonly<Data>): boolean => d.mode === 'c' || d.value === undefined;

// ---- transitions --------------------------------------------------------------

/** set(value) by `id`: the whole data replaced, one commit. */
export function commitSet(m: Model, id: string, value: Value): void {
  const c = home(m, id);
  const at = ++m.clock;
  if (isPlainObject(value)) {
    c.data = { mode: 'c', wt: at, value: undefined, keys: new Map(Object.entries(value).map(([k, v]) => [k, { value: v, at }])) };
  } else {
    c.data = { mode: 'v', wt: at, value, keys: new Map() };
  }
  c.version++;
}

/**
 * A config write by `id` (setCfg, deleteCfg, patchCfg): only its keys
 * change. Deleting keys that are not there changes nothing (no commit):
 * false then.
 */
export function commitPatch(m: Model, id: string, set: ReadonlyArray<readonly [string, Json]>, del: readonly string[]): boolean {
  const c = home(m, id);
  if (!takesConfigWrites(c.data)) throw new Error(`model: a config write on ${id}, whose data is ${show(dataValue(c.data))}`);
  const keys = c.data.mode === 'c' ? c.data.keys : new Map<string, KeyEntry>();
  if (set.length === 0 && !del.some((k) => keys.has(k))) return false;
  const at = ++m.clock;
  const next = new Map(keys);
  for (const [k, v] of set) next.set(k, { value: v, at });
  for (const k of del) next.delete(k);
  c.data = { mode: 'c', wt: at, value: undefined, keys: next };
  c.version++;
  return true;
}

/** The data after `absorbed` joins `target` (merge-3: nothing acknowledged is dropped). */
export function mergeData(target: Readonly<Data>, absorbed: Readonly<Data>): Data {
  if (absorbed.wt === 0) return copyData(target);
  if (target.wt === 0) return copyData(absorbed);
  if (target.mode === 'c' && absorbed.mode === 'c') {
    const keys = new Map(target.keys);
    for (const [k, e] of absorbed.keys) {
      const mine = keys.get(k);
      if (mine === undefined || e.at > mine.at) keys.set(k, e);
    }
    return { mode: 'c', wt: Math.max(target.wt, absorbed.wt), value: undefined, keys };
  }
  return copyData(absorbed.wt > target.wt ? absorbed : target);
}

/** join(other) called on `caller`, of another cluster: the caller's cluster takes in other's whole cluster. */
export function merge(m: Model, caller: string, other: string): Cluster {
  const t = home(m, caller);
  const a = home(m, other);
  if (t === a) throw new Error(`model: ${caller} and ${other} are in one cluster`);
  t.members = [...a.members.filter((id) => !t.members.includes(id)), ...t.members];
  t.data = mergeData(t.data, a.data);
  t.version = Math.max(t.version, a.version) + 1;
  t.exact &&= a.exact;
  a.absorbedInto = t.name;
  for (const n of m.nodes.values()) if (n.running && n.cluster === a.name) n.cluster = t.name;
  // merge-3 points the node key of every member that is down, on either side, at the merged cluster, its version and members.
  for (const id of t.members) {
    const n = m.nodes.get(id)!;
    if (n.running) continue;
    n.cluster = t.name;
    n.keyVersion = t.version;
    n.keyExact = t.exact;
    n.keyNodes = [...t.members];
  }
  return t;
}

/**
 * leave(target) called on `by`: `by`'s cluster no longer lists target. A
 * running target goes on alone (a new cluster) with the data it had, at its
 * version + 1; a stopped one finds out on restart. False when there is
 * nothing to do (not a member, or a one-node cluster).
 */
export function remove(m: Model, by: string, target: string): boolean {
  const c = home(m, by);
  if (!c.members.includes(target) || c.members.length === 1) return false;
  const before = { version: c.version, exact: c.exact };
  c.members = c.members.filter((id) => id !== target);
  c.version++;
  if (c.leader === target) movesLeader(c);
  const t = m.nodes.get(target)!;
  if (t.running) t.cluster = newCluster(m, target, copyData(c.data), before.version + 1, before.exact).name;
  else t.removedFrom = c.name;
  return true;
}

/** The cluster's leader moves: the model knows neither it nor how many leader commits it takes. */
function movesLeader(c: Cluster): void {
  c.leader = undefined;
  c.exact = false;
}

/**
 * stop(id): membership kept. The leader of others hands the housekeeping
 * over (one commit); a member that does not lead commits nothing (even if
 * it has not learned yet that it no longer leads); while the leader moves
 * the model knows only a floor of the version anyway. `key` is what the
 * node held when it stopped (its node key: cluster, version, members),
 * which may be behind the model when it stops right after a change.
 */
export function stopNode(m: Model, id: string, key: { cluster: string; version: number; nodes: readonly string[] }): void {
  const c = home(m, id);
  if (c.leader === id && c.members.length > 1) {
    c.version++;
    movesLeader(c);
  }
  const n = m.nodes.get(id)!;
  n.running = false;
  n.cluster = key.cluster;
  n.keyNodes = [...key.nodes];
  n.keyVersion = key.version;
  n.keyExact = true;
  n.removedFrom = undefined;
}

/**
 * What restart(id) finds. Its node key names a cluster; that cluster (or,
 * if a join took it in, the one that did, and so on) still lists it: it
 * adopts that state from Redis. Removed while it was down: it goes on
 * alone with the data of the cluster that removed it, at the higher of that
 * cluster's version and its own, + 1 — unless that cluster's hash is gone
 * too (a join took it in after the removal): then nothing in Redis says
 * where it went, and the cold start's last rule holds (a new cluster of its
 * own at its version + 1, its data never written).
 */
export function restartPlan(m: Readonly<Model>, id: string): { how: 'adopted'; cluster: Cluster } | { how: 'alone'; from: Cluster | undefined } {
  const n = m.nodes.get(id)!;
  const c = lineage(m, n.cluster);
  if (c.members.includes(id)) return { how: 'adopted', cluster: c };
  const from = m.clusters.get(n.removedFrom ?? n.cluster)!;
  return { how: 'alone', from: from.absorbedInto === undefined ? from : undefined };
}

export function restartNode(m: Model, id: string): 'adopted' | 'alone' {
  const plan = restartPlan(m, id);
  const n = m.nodes.get(id)!;
  n.running = true;
  n.removedFrom = undefined;
  if (plan.how === 'adopted') {
    const c = plan.cluster;
    n.cluster = c.name;
    if (c.leader === undefined || !isRunning(m, c.leader)) movesLeader(c);
    return 'adopted';
  }
  const from = plan.from;
  n.cluster = from
    ? newCluster(m, id, copyData(from.data), Math.max(from.version, n.keyVersion) + 1, from.exact && n.keyExact).name
    : newCluster(m, id, neverWritten(), n.keyVersion + 1, n.keyExact).name;
  return 'alone';
}

// ---- the real system ------------------------------------------------------------

/** One subscriber as the test sees it: everything delivered to it, in order. */
interface SubRecord {
  readonly label: string;
  readonly kind: 'listener' | 'thrower';
  readonly node: Gossip<Value>;
  /** The node's data when it subscribed. */
  readonly initial: Value;
  readonly events: Array<{ data: Value; version: number }>;
  /** Thrower: the SubscriberErrors its node reported for it. */
  reported: number;
  /** Set when unsubscribed: how many events it had then. */
  eventsAtOff: number | undefined;
  /** True once its node stopped (nothing more is checked). */
  gone: boolean;
  readonly handler: (e: { data: Value; version: number }) => void;
  readonly off: () => void;
}

/** Every 'rumor' (whole state) one node life delivered: versions only go up. */
interface RumorRecord {
  readonly node: Gossip<Value>;
  readonly versions: number[];
  gone: boolean;
}

/** The real system: the live nodes of one run and their subscribers. */
export class World {
  readonly nodes = new Map<string, Gossip<Value>>();
  readonly #everStarted: Gossip<Value>[] = [];
  readonly #subs = new Map<string, SubRecord>();
  readonly #rumors: RumorRecord[] = [];
  /** Every real cluster id a node of this run held (to clean up after the run). */
  readonly clusterIds = new Set<string>();
  /** 'error' events other than our throwing subscribers', for the diagnostics. */
  readonly unexpectedErrors: string[] = [];
  #nextSub = 1;

  constructor(readonly options: GossipOptions) {}

  async start(id: string): Promise<Gossip<Value>> {
    const node = await Gossip.start<Value>({ ...this.options, nodeId: id });
    this.#everStarted.push(node);
    node.on('error', (err) => this.#onError(id, err));
    const rec: RumorRecord = { node, versions: [], gone: false };
    this.clusterIds.add(node.rumor.cluster);
    node.subscribe((s) => {
      rec.versions.push(s.version);
      this.clusterIds.add(s.cluster);
    }, 'rumor');
    this.#rumors.push(rec);
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): Gossip<Value> {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`the test has no live node ${id}`);
    return node;
  }

  async stop(id: string): Promise<void> {
    const node = this.node(id);
    this.nodes.delete(id);
    for (const s of this.#subs.values()) if (s.node === node) s.gone = true;
    for (const r of this.#rumors) if (r.node === node) r.gone = true;
    await node.stop();
  }

  /** Stops every node this run started (stop is idempotent), whatever state the run ended in. */
  async stopAll(): Promise<void> {
    this.nodes.clear();
    await Promise.allSettled(this.#everStarted.map((n) => n.stop()));
  }

  subscribe(id: string, kind: 'listener' | 'thrower'): string {
    const node = this.node(id);
    const label = `#${this.#nextSub++}`;
    const events: SubRecord['events'] = [];
    const handler = (e: { readonly data: unknown; readonly version: number }) => {
      events.push({ data: e.data as Value, version: e.version });
      if (kind === 'thrower') throw new Error(`thrower ${label}`);
    };
    const off = node.subscribe(handler);
    this.#subs.set(label, { label, kind, node, initial: node.get() as Value, events, reported: 0, eventsAtOff: undefined, gone: false, handler, off });
    return label;
  }

  /** Unsubscribes with node.unsubscribe(handler), or with the function subscribe() returned. */
  unsubscribe(label: string, viaReturnedOff: boolean): void {
    const s = this.#subs.get(label);
    if (!s) throw new Error(`no subscriber ${label}`);
    if (viaReturnedOff) s.off();
    else s.node.unsubscribe(s.handler);
    s.eventsAtOff = s.events.length;
  }

  get subs(): Iterable<SubRecord> {
    return this.#subs.values();
  }

  get rumors(): Iterable<RumorRecord> {
    return this.#rumors;
  }

  #onError(id: string, err: Error): void {
    if (err instanceof SubscriberError) {
      const m = /^thrower (#\d+)$/.exec(String((err.cause as Error | undefined)?.message));
      const s = m ? this.#subs.get(m[1]!) : undefined;
      if (s && err.event === 'data') {
        s.reported++;
        return;
      }
    }
    this.unexpectedErrors.push(`${id}: ${err.name} (${(err as { code?: string }).code ?? '-'}): ${err.message}`);
  }
}

// ---- the check ------------------------------------------------------------

export const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);

export function show(v: unknown): string {
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

const showList = (xs: Iterable<string>): string => `[${[...xs].join(',')}]`;
const keyOrder = (v: unknown): string => (isPlainObject(v as Value) ? Object.keys(v as object).join(',') : '');

function sameSet(a: readonly string[], b: Iterable<string>): boolean {
  const x = [...a].sort();
  const y = sorted(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * What must hold at every instant, settled or not, model or not: two
 * running nodes that hold one cluster at one version hold one state (hash,
 * data with its keys in one order, members in one order, leader).
 */
export function invariantViolations(w: World): string[] {
  const out: string[] = [];
  const byHead = new Map<string, Array<[string, Gossip<Value>]>>();
  for (const [id, n] of w.nodes) {
    const head = `${n.rumor.cluster}@${n.version}`;
    byHead.set(head, [...(byHead.get(head) ?? []), [id, n]]);
  }
  for (const [head, group] of byHead) {
    const [ia, a] = group[0]!;
    for (const [ib, b] of group.slice(1)) {
      const ra = a.rumor;
      const rb = b.rumor;
      const both = `${ia} and ${ib} both hold ${head}`;
      if (ra.hash !== rb.hash) out.push(`${both} with different hashes`);
      if (!same(ra.data, rb.data)) out.push(`${both} but hold ${show(ra.data)} and ${show(rb.data)}`);
      else if (keyOrder(ra.data) !== keyOrder(rb.data)) out.push(`${both} with the keys in different orders: ${keyOrder(ra.data)} / ${keyOrder(rb.data)}`);
      if (ra.nodes.join(',') !== rb.nodes.join(',')) out.push(`${both} with members ${showList(ra.nodes)} and ${showList(rb.nodes)}`);
      if (ra.leader !== rb.leader) out.push(`${both} with leaders ${ra.leader} and ${rb.leader}`);
    }
  }
  return out;
}

/** Everything that differs between the model and the nodes; empty once the nodes have settled on the model. */
export function mismatches(m: Readonly<Model>, w: World): string[] {
  const out: string[] = [];
  const realIds = new Map<string, string>();
  for (const id of runningNodes(m)) {
    const node = w.nodes.get(id);
    if (!node) {
      out.push(`${id} should be running but the test has no node for it`);
      continue;
    }
    const c = home(m, id);
    const nodes = node.nodes;
    const where = c.members.length === 1 ? `${id} (alone)` : id;
    if (new Set(nodes).size !== nodes.length) out.push(`${id} lists a member twice: ${showList(nodes)}`);
    if (!sameSet(nodes, c.members)) out.push(`${where} lists members ${showList(nodes)}, the model ${showList(sorted(c.members))}`);
    const data = dataValue(c.data);
    if (!same(node.get(), data)) out.push(`${where} holds ${show(node.get())}, the model ${show(data)}`);
    if (c.exact && node.version !== c.version) out.push(`${where} is at version ${node.version}, the model ${c.version}`);
    if (!c.exact && node.version < c.version) out.push(`${where} is at version ${node.version}, the model at least ${c.version}`);
    if (c.leader !== undefined && isRunning(m, c.leader)) {
      if (node.leader !== c.leader) out.push(`${where} has leader ${node.leader}, the model ${c.leader} (the leader moves only when it stops or leaves)`);
    } else if (!c.members.includes(node.leader) || !isRunning(m, node.leader)) {
      out.push(`${where} has leader ${node.leader}, not a running member (the leader moved; it should land on one of ${showList(runningMembers(m, c))})`);
    }
    const real = realIds.get(c.name);
    if (real === undefined) realIds.set(c.name, node.rumor.cluster);
    else if (real !== node.rumor.cluster) out.push(`${id} is in cluster ${node.rumor.cluster}, another member of its cluster in ${real}`);
  }
  const names = [...realIds].map(([name, real]) => ({ name, real }));
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      if (names[i]!.real === names[j]!.real) out.push(`the model's clusters ${names[i]!.name} and ${names[j]!.name} are one cluster ${names[i]!.real} in the nodes`);
    }
  }
  for (const c of liveClusters(m)) {
    const members = runningMembers(m, c).flatMap((id) => (w.nodes.has(id) ? [[id, w.nodes.get(id)!] as const] : []));
    const versions = new Set(members.map(([, n]) => n.version));
    if (versions.size > 1) out.push(`members of ${c.name} disagree on the version: ${members.map(([id, n]) => `${id}@${n.version}`).join(' ')}`);
    const leaders = new Set(members.map(([, n]) => n.leader));
    if (leaders.size > 1) out.push(`members of ${c.name} disagree on the leader: ${members.map(([id, n]) => `${id}→${n.leader}`).join(' ')}`);
  }
  for (const s of w.subs) out.push(...subscriberMismatches(s));
  for (const r of w.rumors) out.push(...rumorMismatches(r));
  return out;
}

/**
 * A subscriber got events in strictly increasing versions (versions never
 * go down for a node's subscribers, whatever cluster it moves to), each a
 * change of the data; an active one ends on the node's data; an
 * unsubscribed one got nothing more; every throw was reported on 'error'.
 */
function subscriberMismatches(s: SubRecord): string[] {
  if (s.gone) return [];
  const out: string[] = [];
  const who = `${s.kind} ${s.label} on ${s.node.id}`;
  if (s.events.some((e, i) => i > 0 && e.version <= s.events[i - 1]!.version)) {
    out.push(`${who} got versions out of order or twice (${s.events.map((e) => e.version).join(',')})`);
  }
  s.events.forEach((e, i) => {
    const prev = s.events[i - 1];
    // Key order is part of the data (every member holds the keys in one order): a merge that only reorders them is a change.
    if (prev && same(e.data, prev.data) && keyOrder(e.data) === keyOrder(prev.data)) out.push(`${who} got a 'data' event at version ${e.version} with unchanged data ${show(e.data)}`);
  });
  if (s.eventsAtOff !== undefined) {
    if (s.events.length !== s.eventsAtOff) out.push(`${who} got ${s.events.length - s.eventsAtOff} event(s) after it unsubscribed`);
  } else {
    const last = s.events.at(-1);
    const data = s.node.get();
    if (!last && !same(data, s.initial)) out.push(`${who} got no event, but the data changed from ${show(s.initial)} to ${show(data)}`);
    if (last && !same(last.data, data)) out.push(`${who} last got ${show(last.data)} (version ${last.version}), the node holds ${show(data)}`);
    if (last && last.version > s.node.version) out.push(`${who} got version ${last.version}, beyond the node's ${s.node.version}`);
  }
  if (s.kind === 'thrower' && s.reported !== s.events.length) out.push(`${who} threw ${s.events.length} time(s), 'error' reported ${s.reported}`);
  return out;
}

/** A node's 'rumor' events: every version once, going up, ending on the version it holds. */
function rumorMismatches(r: RumorRecord): string[] {
  if (r.gone) return [];
  const out: string[] = [];
  const v = r.versions;
  if (v.some((x, i) => i > 0 && x <= v[i - 1]!)) out.push(`${r.node.id}'s 'rumor' events went down or repeated: ${v.join(',')}`);
  const last = v.at(-1);
  if (last !== undefined && last !== r.node.version) out.push(`${r.node.id}'s last 'rumor' event is version ${last}, it holds ${r.node.version}`);
  return out;
}

/** The model and every node, for a failure message. */
export function describeState(m: Readonly<Model>, w: World): string {
  const lines = [`model (clock ${m.clock}):`];
  for (const c of liveClusters(m)) {
    lines.push(
      `  ${c.name}: members=${showList(c.members)} data=${show(dataValue(c.data))} (${c.data.mode}, written at ${c.data.wt})` +
        ` version=${c.exact ? '' : '>='}${c.version} leader=${c.leader ?? '(moving)'}`,
    );
  }
  for (const id of m.ids) {
    const n = m.nodes.get(id)!;
    const key = `node key ${n.cluster}→${lineage(m, n.cluster).name} at ${n.keyExact ? '' : '>='}${n.keyVersion} listing ${showList(n.keyNodes)}`;
    lines.push(`  ${id}: ${n.running ? `running in ${n.cluster}` : `stopped, ${key}${n.removedFrom ? `, removed from ${n.removedFrom}` : ''}`}`);
  }
  lines.push('nodes:');
  for (const [id, n] of [...w.nodes].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${id}: cluster=${n.rumor.cluster} version=${n.version} leader=${n.leader} nodes=${showList(n.nodes)} data=${show(n.get())}`);
  }
  if (w.unexpectedErrors.length > 0) lines.push(`  'error' events: ${w.unexpectedErrors.slice(-10).join(' | ')}`);
  return lines.join('\n');
}

/**
 * Polls until the nodes match the model, or fails with the differences
 * after `timeoutMs`; fails at once if an invariant breaks meanwhile. Once
 * settled, the model takes the leader and version of each cluster whose
 * leader moved (it knew only a floor of the version).
 */
export async function settle(m: Model, w: World, timeoutMs: number, after: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const broken = invariantViolations(w);
    if (broken.length > 0) throw new Error(`after ${after}: ${broken.join('; ')}\n${describeState(m, w)}`);
    const diff = mismatches(m, w);
    if (diff.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`after ${after}, not settled on the model within ${timeoutMs} ms:\n  - ${diff.join('\n  - ')}\n${describeState(m, w)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  for (const c of liveClusters(m)) {
    const member = runningMembers(m, c)[0];
    if (member === undefined) continue;
    const node = w.node(member);
    c.realId = node.rumor.cluster;
    c.leader = node.leader;
    c.version = node.version;
    c.exact = true;
  }
}

/** Throws a readable error unless `actual` deep-equals `expected`. */
export function assertSame(actual: unknown, expected: unknown, what: string): void {
  if (!same(actual, expected)) throw new Error(`${what}: got ${show(actual)}, expected ${show(expected)}`);
}

export function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}
