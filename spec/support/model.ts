/**
 * The model and the real system for the model-based test
 * (spec/integration/model.test.ts): what the cluster should look like, the
 * live nodes and subscribers, and the check that compares the two once the
 * cluster has settled.
 */
import { isDeepStrictEqual } from 'node:util';
import { Gossip, SubscriberError } from '../../lib/index.js';
import type { GossipOptions } from '../../lib/index.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** What the tests store: JSON-ish data, or undefined (cleared / never set). */
export type Value = Json | undefined;

/** A node that is on its own (never joined, left, or was removed): its own one-node cluster. */
export interface Loner {
  data: Value;
  /** Exact: 1 when it went alone, +1 per write on it. */
  version: number;
}

export interface SubModel {
  readonly label: string;
  readonly nodeId: string;
  readonly kind: 'listener' | 'thrower';
  /** False once unsubscribed or once its node stopped. */
  active: boolean;
}

/**
 * What the cluster should be. "Main" is the one cluster the test grows and
 * shrinks; every node outside it is a loner. Stopped nodes keep their place
 * (stop keeps membership), and their snapshot lists `stored`.
 */
export interface Model {
  readonly ids: readonly string[];
  readonly running: Set<string>;
  readonly main: Set<string>;
  mainData: Value;
  readonly loners: Map<string, Loner>;
  /** Stopped members that another member removed: on restart they go alone with the main cluster's data. */
  readonly removedWhileDown: Set<string>;
  /** Stopped node → the members its snapshot lists. */
  readonly stored: Map<string, readonly string[]>;
  readonly subs: SubModel[];
}

export function initialModel(ids: readonly string[], members: number): Model {
  return {
    ids,
    running: new Set(ids),
    main: new Set(ids.slice(0, members)),
    mainData: undefined,
    loners: new Map(ids.slice(members).map((id) => [id, { data: undefined, version: 1 }])),
    removedWhileDown: new Set(),
    stored: new Map(),
    subs: [],
  };
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();
export const runningMembers = (m: Readonly<Model>): string[] => sorted([...m.main].filter((id) => m.running.has(id)));
export const stoppedMembers = (m: Readonly<Model>): string[] => sorted([...m.main].filter((id) => !m.running.has(id)));
export const runningNodes = (m: Readonly<Model>): string[] => sorted(m.running);
export const activeSubs = (m: Readonly<Model>): SubModel[] => m.subs.filter((s) => s.active);

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
  /** How many times its node had changed cluster (joined, or gone alone) when it subscribed. */
  readonly moves0: number;
  /** Set when unsubscribed: how many events it had then. */
  eventsAtOff: number | undefined;
  /** True once its node stopped (nothing more is checked). */
  gone: boolean;
  readonly handler: (e: { data: Value; version: number }) => void;
  readonly off: () => void;
}

/** The real system: the live nodes of one run and their subscribers. */
export class World {
  readonly nodes = new Map<string, Gossip<Value>>();
  readonly #everStarted: Gossip<Value>[] = [];
  readonly #subs = new Map<string, SubRecord>();
  /** 'error' events other than our throwing subscribers', for the diagnostics. */
  readonly unexpectedErrors: string[] = [];
  /** Node → how many times it changed cluster: its version starts again at 1 when it goes alone. */
  readonly #moves = new Map<string, number>();
  #nextSub = 1;

  constructor(readonly options: GossipOptions) {}

  async start(id: string): Promise<Gossip<Value>> {
    const node = await Gossip.start<Value>({ ...this.options, nodeId: id });
    this.#everStarted.push(node);
    node.on('error', (err) => this.#onError(id, err));
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
    await node.stop();
  }

  /** Stops every node this run started (stop is idempotent), whatever state the run ended in. */
  async stopAll(): Promise<void> {
    this.nodes.clear();
    await Promise.allSettled(this.#everStarted.map((n) => n.stop()));
  }

  /** Records that `id` joined a cluster or went alone (so its version may go down). */
  moved(id: string): void {
    this.#moves.set(id, this.moves(id) + 1);
  }

  moves(id: string): number {
    return this.#moves.get(id) ?? 0;
  }

  subscribe(id: string, kind: 'listener' | 'thrower'): string {
    const node = this.node(id);
    const label = `#${this.#nextSub++}`;
    const events: SubRecord['events'] = [];
    const handler = (e: { data: Value; version: number }) => {
      events.push({ data: e.data, version: e.version });
      if (kind === 'thrower') throw new Error(`thrower ${label}`);
    };
    const off = node.subscribe(handler);
    this.#subs.set(label, { label, kind, node, initial: node.get(), moves0: this.moves(id), events, reported: 0, eventsAtOff: undefined, gone: false, handler, off });
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

function sameSet(a: readonly string[], b: Iterable<string>): boolean {
  const x = [...a].sort();
  const y = sorted(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * What must hold at every instant, settled or not: two running members of
 * the main cluster at the same version hold the same rumor content (every
 * node that holds version v holds the same data).
 */
export function invariantViolations(m: Readonly<Model>, w: World): string[] {
  const out: string[] = [];
  const members = runningMembers(m).map((id) => [id, w.nodes.get(id)] as const);
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const [ia, a] = members[i]!;
      const [ib, b] = members[j]!;
      if (!a || !b || a.version !== b.version) continue;
      if (!same(a.get(), b.get())) out.push(`${ia} and ${ib} are both at version ${a.version} but hold ${show(a.get())} and ${show(b.get())}`);
    }
  }
  return out;
}

/** Everything that differs between the model and the nodes; empty once the cluster has settled on the model. */
export function mismatches(m: Readonly<Model>, w: World): string[] {
  const out: string[] = [];
  for (const id of runningNodes(m)) {
    const node = w.nodes.get(id);
    if (!node) {
      out.push(`${id} should be running but the test has no node for it`);
      continue;
    }
    const nodes = node.nodes;
    if (new Set(nodes).size !== nodes.length) out.push(`${id} lists a member twice: ${showList(nodes)}`);
    if (m.main.has(id)) {
      if (!sameSet(nodes, m.main)) out.push(`${id} lists members ${showList(nodes)}, the model ${showList(sorted(m.main))}`);
      if (!same(node.get(), m.mainData)) out.push(`${id} holds ${show(node.get())}, the model ${show(m.mainData)}`);
      if (!m.main.has(node.leader)) out.push(`${id} has leader ${node.leader}, not a member`);
    } else {
      const loner = m.loners.get(id);
      if (!loner) {
        out.push(`${id} is running but the model has it neither in the main cluster nor alone`);
        continue;
      }
      if (nodes.length !== 1 || nodes[0] !== id) out.push(`${id} should be alone but lists ${showList(nodes)}`);
      if (node.leader !== id) out.push(`${id} should be alone but has leader ${node.leader}`);
      if (!same(node.get(), loner.data)) out.push(`${id} (alone) holds ${show(node.get())}, the model ${show(loner.data)}`);
      if (node.version !== loner.version) out.push(`${id} (alone) is at version ${node.version}, the model ${loner.version}`);
    }
  }
  const members = runningMembers(m).flatMap((id) => (w.nodes.has(id) ? [[id, w.nodes.get(id)!] as const] : []));
  const versions = new Set(members.map(([, n]) => n.version));
  if (versions.size > 1) out.push(`members disagree on the version: ${members.map(([id, n]) => `${id}@${n.version}`).join(' ')}`);
  const leaders = new Set(members.map(([, n]) => n.leader));
  if (leaders.size > 1) out.push(`members disagree on the leader: ${members.map(([id, n]) => `${id}→${n.leader}`).join(' ')}`);
  for (const s of w.subs) out.push(...subscriberMismatches(s, w.moves(s.node.id)));
  return out;
}

/**
 * A subscriber got events in version order, each a change of the data; an
 * active one has (eventually) the node's latest data; an unsubscribed one
 * got nothing more; every throw was reported on 'error'.
 */
function subscriberMismatches(s: SubRecord, moves: number): string[] {
  if (s.gone) return [];
  const out: string[] = [];
  const who = `${s.kind} ${s.label} on ${s.node.id}`;
  // Versions go up, except where the node changed cluster (alone, it starts again at 1).
  const moved = moves - s.moves0;
  const drops = s.events.filter((e, i) => i > 0 && e.version <= s.events[i - 1]!.version).length;
  if (drops > moved) out.push(`${who} got versions out of order (${s.events.map((e) => e.version).join(',')}), its node changed cluster ${moved} time(s)`);
  s.events.forEach((e, i) => {
    const prev = s.events[i - 1];
    if (prev && same(e.data, prev.data)) out.push(`${who} got a 'data' event at version ${e.version} with unchanged data ${show(e.data)}`);
  });
  if (s.eventsAtOff !== undefined) {
    if (s.events.length !== s.eventsAtOff) out.push(`${who} got ${s.events.length - s.eventsAtOff} event(s) after it unsubscribed`);
  } else {
    const last = s.events.at(-1);
    const data = s.node.get();
    if (!last && !same(data, s.initial)) out.push(`${who} got no event, but the data changed from ${show(s.initial)} to ${show(data)}`);
    if (last && !same(last.data, data)) out.push(`${who} last got ${show(last.data)} (version ${last.version}), the node holds ${show(data)}`);
    if (last && moved === 0 && last.version > s.node.version) out.push(`${who} got version ${last.version}, beyond the node's ${s.node.version}`);
  }
  if (s.kind === 'thrower' && s.reported !== s.events.length) out.push(`${who} threw ${s.events.length} time(s), 'error' reported ${s.reported}`);
  return out;
}

/** The model and every node, for a failure message. */
export function describeState(m: Readonly<Model>, w: World): string {
  const lines = [
    `model: main=${showList(sorted(m.main))} data=${show(m.mainData)} running=${showList(sorted(m.running))}` +
      ` loners={${[...m.loners].map(([id, l]) => `${id}: ${show(l.data)}@${l.version}`).join(', ')}}` +
      ` removedWhileDown=${showList(m.removedWhileDown)}`,
  ];
  for (const [id, n] of [...w.nodes].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${id}: version=${n.version} leader=${n.leader} nodes=${showList(n.nodes)} data=${show(n.get())}`);
  }
  if (w.unexpectedErrors.length > 0) lines.push(`  'error' events: ${w.unexpectedErrors.slice(-10).join(' | ')}`);
  return lines.join('\n');
}

/**
 * Polls until the nodes match the model, or fails with the differences
 * after `timeoutMs`; fails at once if an invariant breaks meanwhile.
 */
export async function settle(m: Readonly<Model>, w: World, timeoutMs: number, after: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const broken = invariantViolations(m, w);
    if (broken.length > 0) throw new Error(`after ${after}: ${broken.join('; ')}\n${describeState(m, w)}`);
    const diff = mismatches(m, w);
    if (diff.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`after ${after}, not settled on the model within ${timeoutMs} ms:\n  - ${diff.join('\n  - ')}\n${describeState(m, w)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Throws a readable error unless `actual` deep-equals `expected`. */
export function assertSame(actual: unknown, expected: unknown, what: string): void {
  if (!same(actual, expected)) throw new Error(`${what}: got ${show(actual)}, expected ${show(expected)}`);
}

export function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}
