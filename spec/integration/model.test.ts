/**
 * Model-based test: random sequences of writes (whole values and config
 * keys, from any node), reads, joins (merges, from either side), leaves,
 * subscriptions, stops and restarts on 3–5 in-process nodes over a real
 * Redis, each checked against a model of what the clusters should hold
 * (spec/support/model.ts, DESIGN.md §1). A fresh namespace per run; every
 * node is stopped after each run, whatever happened.
 *
 *   npx vitest run spec/integration/model.test.ts                                   # 50 runs
 *   SG_MODEL_RUNS=2000 npx vitest run spec/integration/model.test.ts                # soak
 *   SG_MODEL_SEED=<seed> SG_MODEL_PATH=<path> SG_MODEL_REPLAY=<replayPath> npx vitest run spec/integration/model.test.ts   # replay a failure
 *
 * Knobs: SG_MODEL_RUNS (default 50), SG_MODEL_COMMANDS (most commands
 * generated per run, default 60; those that do not fit the model at their
 * point are skipped), SG_MODEL_SEED / SG_MODEL_PATH / SG_MODEL_REPLAY
 * (replay the `{ seed, path }` and the `replayPath` a failure printed, with
 * the SG_MODEL_COMMANDS and SG_MODEL_AVOID it ran with), SG_MODEL_VERBOSE (0–2, fast-check's
 * verbosity), SG_MODEL_SETTLE_MS (how long the nodes may take to settle,
 * default 5000), SG_MODEL_AVOID (comma-separated known bugs to steer around
 * while soaking for others; see KNOWN_BUGS), SG_MODEL_TRACE (print every
 * passing run).
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { CouldNotConnectError, PropagationTimeoutError } from '../../lib/index.js';
import type { EventMode, Gossip } from '../../lib/index.js';
import { Keys } from '../../lib/transport/keys.js';
import {
  activeSubs,
  assert,
  assertSame,
  commitPatch,
  commitSet,
  dataValue,
  home,
  initialModel,
  isPlainObject,
  isRunning,
  lineage,
  merge,
  remove,
  restartNode,
  restartPlan,
  runningMembers,
  settle,
  show,
  stopNode,
  stoppedMembers,
  takesConfigWrites,
  World,
} from '../support/model.js';
import type { Json, Model, Value } from '../support/model.js';
import { freshNamespace, useRedis } from '../support/redis.js';

const RUNS = envInt('SG_MODEL_RUNS', 50);
const MAX_COMMANDS = envInt('SG_MODEL_COMMANDS', 60);
const SETTLE_MS = envInt('SG_MODEL_SETTLE_MS', 5_000);
const VERBOSE = envInt('SG_MODEL_VERBOSE', 0) as 0 | 1 | 2;
const SEED = process.env.SG_MODEL_SEED === undefined ? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0 : envInt('SG_MODEL_SEED', 0);
const PATH = process.env.SG_MODEL_PATH;
/** The replayPath a counterexample's commands print (fast-check needs it, beside seed and path, to replay them). */
const REPLAY = process.env.SG_MODEL_REPLAY;

/**
 * Bugs this test found in lib, by the name SG_MODEL_AVOID takes. All five are
 * fixed (a stopped node's key lags no more, a merge points the absorbed
 * members' node keys at the merged cluster, the next leader is a live member,
 * a hand-over is dropped once the node no longer leads, a restarted node
 * refreshes its node key at once); the names stay so that, should one come
 * back, a soak can steer around it while it looks for others. By default
 * nothing is avoided.
 */
const KNOWN_BUGS = {
  /**
   * The leader's successor is chosen among all the members but the old
   * leader, stopped ones included (chooseLeader gets an empty "down" set:
   * the hand-over on stop, leave, and a tick's replacement alike). With two
   * members stopped, the choice can alternate between them for good: every
   * tick a running member finds the leader gone and commits the other
   * stopped one, the version climbs (about two a second) and no running
   * member ever does the housekeeping. Minimal: 4 nodes, n0 takes n1 and
   * n3 (members n3,n1,n0, leader n0), stop(n3), stop(n0): n1's leader goes
   * n3, n0, n3… Avoided: no step leaves a cluster that has a running
   * member with a leader to replace and two or more members stopped.
   */
  'leader-to-stopped': true,
  /**
   * A member stopped while its cluster was taken in by another (join: the
   * absorbed cluster's hash is deleted) restarts from its node key, which
   * still names the absorbed cluster; it finds the merged cluster only if a
   * member its node key lists runs and is in it. Otherwise it starts a new
   * cluster of its own with no data, while the merged cluster — in Redis,
   * the state every member recovers from — still lists it (its status()
   * never settles). The same for one removed from the merged cluster while
   * it was down: it starts with no data instead of that cluster's. DESIGN
   * §1: the absorbed cluster's members get the merged state; a member
   * recovers from the committed state in Redis. Minimal: 4 nodes alone;
   * n0 takes n3, stop(n0), n1 takes n3, stop(n3), restart(n0): n0 alone,
   * undefined; n1 lists n3,n0,n1. Avoided: no restart whose node key names
   * an absorbed cluster unless a running member it lists can tell it.
   */
  'absorbed-member-restart': true,
  /**
   * stop() decides to hand the housekeeping over from the state the node
   * holds, then commits the hand-over computed from whatever state it holds
   * by then, without checking it still leads: a member stopped right after
   * its cluster was taken in by another (it led the absorbed cluster, and
   * takes the merge in while it stops) commits a leader choice over the
   * merged cluster and its running leader: a commit nobody asked for, and
   * the leader moves though it neither stopped nor left. Minimal: 4 nodes
   * alone; n3 takes n1; n0 takes n3 and at once stop(n3): n0's cluster goes
   * from version 3 to 4 (the choice happens to land on n0 again); with
   * n0 takes n3, stop(n0), n1 takes n3 and at once stop(n3), the running
   * leader n1 is replaced by the stopped n0 (12 times in 20). Avoided: no
   * immediate stop of a node that believes it leads when the model says it
   * does not.
   */
  'stale-handover': true,
  /**
   * stop() writes the node key (the cluster, version and members it holds)
   * and only then stops taking changes in: a change that arrives meanwhile
   * is installed after the key was written, so the node key is older than
   * what the node last held (a version behind, or even the cluster a join
   * just took in). Restarted alone, the node starts at the key's version + 1
   * — not above the last version it held (DESIGN §1: a node that starts a
   * cluster of its own starts it at its last version + 1; §3: the node key
   * holds the version and cluster it last held). Minimal: n0 takes n1 and
   * n2; n1 setCfg(a, 1) and at once stop(n2): n2 held version 4, its node
   * key says 3 (20 times in 20). Avoided: the model takes the node key
   * from Redis when they differ.
   */
  'stop-key-race': true,
  /**
   * A restarted member that adopts its cluster's state does not refresh its
   * node key's last-seen time until its first tick: for up to a gossip
   * period it looks silent since it stopped. A member whose tick falls in
   * that window while the restarted node leads (it led already, a join of
   * its cluster or a hand-over made it leader) replaces it though it runs
   * and listens (the tick script even counts its listener). DESIGN §4: the
   * leader moves when it is gone, not while it runs. Minimal: n0, n1 alone;
   * stop(n0), 2 s later restart(n0), at once n0 takes n1 (leader n0): half
   * a second later n1 commits itself leader (5 times in 5). Avoided: after
   * a restart the next step waits for the node's first tick.
   */
  'restart-seen': true,
} as const;
const AVOID = new Set((process.env.SG_MODEL_AVOID ?? '').split(',').filter(Boolean));
for (const name of AVOID) if (!(name in KNOWN_BUGS)) throw new Error(`SG_MODEL_AVOID: no known bug ${name} (${Object.keys(KNOWN_BUGS).join(', ') || 'none'})`);
/** Generous: a failure is shrunk against the real Redis, one run at a time. */
const TEST_TIMEOUT_MS = 10 * 60_000 + RUNS * 30_000;

const redis = useRedis();

/** Counters for the summary line: runs, commands executed, and how often each case came up. */
const stats = { runs: 0, commands: 0, cases: new Map<string, number>() };
const saw = (what: string): void => void stats.cases.set(what, (stats.cases.get(what) ?? 0) + 1);
/** Whether the soak steers around known bug `name` here (counted). */
function avoids(name: keyof typeof KNOWN_BUGS, when: boolean): boolean {
  if (!when || !AVOID.has(name)) return false;
  saw(`avoided ${name}`);
  return true;
}

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, not ${raw}`);
  return n;
}

// ---- commands ---------------------------------------------------------------

/**
 * A step of a run. Each names the nodes it acts on (n0…n4); a step whose
 * nodes do not fit the model at that point (not started in this run,
 * stopped…) is skipped, so removing a step while shrinking leaves the
 * others acting on the same nodes.
 */
abstract class Step implements fc.AsyncCommand<Model, World> {
  abstract check(m: Readonly<Model>): boolean;
  protected abstract act(m: Model, w: World): Promise<void> | void;
  abstract toString(): string;
  async run(m: Model, w: World): Promise<void> {
    stats.commands++;
    await this.act(m, w);
  }
}

/** What a call that should have failed did instead: 'success', or the error it failed with. */
const outcome = (err: unknown): string => (err === undefined ? 'success' : err instanceof Error ? String(err) : JSON.stringify(err));
const inRun = (m: Readonly<Model>, id: string) => m.ids.includes(id);
const running = (m: Readonly<Model>, id: string) => inRun(m, id) && isRunning(m, id);

/** The node holds its cluster's version as the model has it (exact, or at least its floor). */
function assertVersion(m: Readonly<Model>, w: World, id: string, what: string): void {
  const c = home(m, id);
  const v = w.node(id).version;
  if (c.exact) assert(v === c.version, `${what}: ${id} is at version ${v}, the model ${c.version}`);
  else assert(v >= c.version, `${what}: ${id} is at version ${v}, the model at least ${c.version}`);
}

/** set(value) on any running node (no leader in the write path): read-your-writes at once, one version up. */
async function doSet(m: Model, w: World, id: string, value: Value): Promise<void> {
  const node = w.node(id);
  await node.set(value);
  commitSet(m, id, value);
  saw('set');
  assertSame(node.get(), value, `read-your-writes on ${id} after set`);
  assertVersion(m, w, id, `set on ${id}`);
}

class SetStep extends Step {
  constructor(
    readonly id: string,
    readonly value: Value,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await doSet(m, w, this.id, this.value);
  }
  toString(): string {
    return `set(${this.id}, ${show(this.value)})`;
  }
}

/** Several sets in a row on one node: its cluster's version runs ahead (what a later join's max(both)+1 sees). */
class SetBurstStep extends Step {
  constructor(
    readonly id: string,
    readonly values: Value[],
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    for (const v of this.values) await doSet(m, w, this.id, v);
  }
  toString(): string {
    return `setBurst(${this.id}, ${this.values.map(show).join(' ')})`;
  }
}

/**
 * setSync(value) on any running node. With every member of its cluster up
 * it resolves and every member holds the value at once; with some stopped
 * it rejects with a PropagationTimeoutError naming them (the write still
 * applied), and every member it does not name holds the value.
 */
class SetSyncStep extends Step {
  constructor(
    readonly id: string,
    readonly value: Value,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const node = w.node(this.id);
    const c = home(m, this.id);
    const stopped = stoppedMembers(m, c);
    const members = runningMembers(m, c);
    if (stopped.length === 0) {
      await node.setSync(this.value, { timeoutMs: 3_000 });
      commitSet(m, this.id, this.value);
      saw('setSync');
      for (const member of members) assertSame(w.node(member).get(), this.value, `${member} right after setSync on ${this.id} resolved`);
      assertVersion(m, w, this.id, `setSync on ${this.id}`);
      return;
    }
    const err = await node.setSync(this.value, { timeoutMs: 600 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    commitSet(m, this.id, this.value);
    saw('setSync with members stopped');
    const what = `setSync on ${this.id} with ${stopped.join(',')} stopped`;
    assert(err instanceof PropagationTimeoutError, `${what}: expected a PropagationTimeoutError, got ${outcome(err)}`);
    const named = new Map(err.laggards.map((l) => [l.nodeId, l.version]));
    for (const s of stopped) {
      assert(named.has(s) && named.get(s) === undefined, `${what}: ${s} should be a laggard with no answer; laggards ${JSON.stringify(err.laggards)}`);
    }
    assertSame(node.get(), this.value, `read-your-writes on ${this.id} after a setSync that timed out`);
    for (const member of members) {
      if (!named.has(member)) assertSame(w.node(member).get(), this.value, `${member}, not named a laggard by ${what}`);
    }
  }
  toString(): string {
    return `setSync(${this.id}, ${show(this.value)})`;
  }
}

/**
 * A config write (setCfg / deleteCfg / patchCfg) on any running node whose
 * data is an object of keys or undefined: only its keys change (the commit
 * time of each is what a later join compares). Removing keys that are not
 * there commits nothing.
 */
class CfgStep extends Step {
  constructor(
    readonly id: string,
    readonly how: 'setCfg' | 'deleteCfg' | 'patchCfg',
    readonly changes: ReadonlyArray<readonly [string, Json | undefined]>,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id) && takesConfigWrites(home(m, this.id).data) && (this.how === 'patchCfg' || this.changes.length > 0);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const [key, value] = this.changes[0] ?? ['', undefined];
    const set = this.how === 'deleteCfg' ? [] : this.changes.flatMap(([k, v]) => (v === undefined ? [] : [[k, v] as const]));
    const del = this.how === 'deleteCfg' ? [key] : this.changes.flatMap(([k, v]) => (v === undefined ? [k] : []));
    const node = w.node(this.id);
    const local = node.get() as Value;
    if (local !== undefined && !isPlainObject(local)) {
      // It has not caught up yet with the write that made the data an object: it refuses from what it holds (a TypeError), nothing committed.
      const err = await this.#call(node, key, value).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert(err instanceof TypeError, `${this.toString()} on ${this.id}, which still holds ${show(local)}: expected a TypeError, got ${outcome(err)}`);
      saw('config write refused by a node not caught up');
      return;
    }
    await this.#call(node, key, value);
    const c = home(m, this.id);
    if (commitPatch(m, this.id, set, del)) {
      saw(this.how);
      assertSame(node.get(), dataValue(c.data), `read-your-writes on ${this.id} after ${this.toString()}`);
      assertVersion(m, w, this.id, this.toString());
      return;
    }
    saw(`${this.how}: nothing to change`);
    // Nothing to change, nothing committed: the node may still be catching up with earlier writes of others, but the keys are gone.
    const data = node.get() as Value;
    for (const k of del) assert(!(isPlainObject(data) && Object.hasOwn(data, k)), `${this.toString()} resolved, but ${this.id} still holds ${k}: ${show(data)}`);
    assert(!c.exact || node.version <= c.version, `${this.toString()} committed nothing, but ${this.id} is at version ${node.version}, beyond the model's ${c.version}`);
  }
  #call(node: Gossip<Value>, key: string, value: Json | undefined): Promise<void> {
    if (this.how === 'setCfg') return node.setCfg(key, value as Json);
    if (this.how === 'deleteCfg') return node.deleteCfg(key);
    return node.patchCfg(Object.fromEntries(this.changes));
  }
  toString(): string {
    if (this.how === 'patchCfg') return `patchCfg(${this.id}, {${this.changes.map(([k, v]) => `${k}: ${show(v)}`).join(', ')}})`;
    const [key, value] = this.changes[0] ?? ['?', undefined];
    return this.how === 'setCfg' ? `setCfg(${this.id}, ${key}, ${show(value)})` : `deleteCfg(${this.id}, ${key})`;
  }
}

/** get() on a running node, once the nodes have settled: it holds what the model says. */
class GetStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await settle(m, w, SETTLE_MS, this.toString());
    assertSame(w.node(this.id).get(), dataValue(home(m, this.id).data), `get() on ${this.id}`);
  }
  toString(): string {
    return `get(${this.id})`;
  }
}

/** status() on a running node, once settled: ok with every member up, else 'timeout' naming the stopped ones. */
class StatusStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await settle(m, w, SETTLE_MS, `${this.toString()} (before)`);
    const node = w.node(this.id);
    const c = home(m, this.id);
    const s = await node.status();
    const stopped = stoppedMembers(m, c);
    const what = `status() on ${this.id} with ${stopped.length === 0 ? 'every member up' : `${stopped.join(',')} stopped`}: ${JSON.stringify(s)}`;
    assertSame([...s.nodes].sort(), [...c.members].sort(), `${what}: members`);
    assert(s.leader === c.leader, `${what}: the leader should be ${c.leader}`);
    if (stopped.length === 0) {
      assert(s.ok && s.version === c.version, what);
    } else {
      assert(!s.ok && s.error === 'timeout', what);
      assertSame([...s.unresponsive].sort(), stopped, `${what}: unresponsive`);
    }
  }
  toString(): string {
    return `status(${this.id})`;
  }
}

/**
 * join(other) on a running node. Itself, or a member of its own cluster:
 * nothing changes. A stopped node: could_not_connect_to_node. Otherwise the
 * caller's cluster takes in other's whole cluster: members the union, the
 * caller's cluster's leader, version max(both) + 1, data merged (no
 * acknowledged write dropped: model.ts mergeData) — the caller holds it
 * when join resolves.
 */
class JoinStep extends Step {
  constructor(
    readonly caller: string,
    readonly other: string,
    readonly settleAfter = true,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.caller) && inRun(m, this.other);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const node = w.node(this.caller);
    if (!isRunning(m, this.other)) {
      const err = await node.join(this.other).then(
        () => undefined,
        (e: unknown) => e,
      );
      saw('join of a stopped node');
      assert(err instanceof CouldNotConnectError && err.code === 'could_not_connect_to_node', `${this.toString()} of a stopped node: expected could_not_connect_to_node, got ${outcome(err)}`);
      return;
    }
    await settle(m, w, SETTLE_MS, `${this.toString()} (before)`);
    if (home(m, this.caller) === home(m, this.other)) {
      saw(this.caller === this.other ? 'join of itself' : 'join within one cluster');
      const before = node.version;
      await node.join(this.other);
      assert(node.version === before, `${this.toString()} within one cluster changed the version from ${before} to ${node.version}`);
      await settle(m, w, SETTLE_MS, this.toString());
      return;
    }
    const [t, a] = [home(m, this.caller), home(m, this.other)];
    const sizes = `${t.members.length}+${a.members.length}`;
    if (t.data.wt === 0 || a.data.wt === 0) saw('join: a side never written');
    else if (t.data.mode === 'c' && a.data.mode === 'c')
      saw([...a.data.keys.keys()].some((k) => t.data.keys.has(k)) ? 'join: config keys, some both sides wrote' : 'join: config keys, none both wrote');
    else saw('join: a whole value, the side written last wins');
    const stoppedAbsorbed = stoppedMembers(m, home(m, this.other)).length > 0;
    await node.join(this.other);
    const c = merge(m, this.caller, this.other);
    saw(`join (merge ${sizes})`);
    if (stoppedAbsorbed) saw('join absorbing stopped members');
    assertSame(node.get(), dataValue(c.data), `${this.caller}'s data when join resolved`);
    assertSame([...node.nodes].sort(), [...c.members].sort(), `${this.caller}'s members when join resolved`);
    assertVersion(m, w, this.caller, `${this.toString()} resolved`);
    assert(node.leader === c.leader, `${this.caller}'s leader when join resolved is ${node.leader}, the caller's cluster's was ${c.leader}`);
    // Or the next step acts while the members of the absorbed side are still taking the merge in.
    if (this.settleAfter) await settle(m, w, SETTLE_MS, this.toString());
  }
  toString(): string {
    return `join(${this.caller} takes ${this.other}${this.settleAfter ? '' : ', no wait'})`;
  }
}

/**
 * leave(target) on a running node: its cluster no longer lists target (a
 * one-node cluster, or a target that is not a member: nothing changes). A
 * running target goes on alone with the data it had at its version + 1; a
 * stopped one finds out when it restarts.
 */
class LeaveStep extends Step {
  constructor(
    readonly target: string,
    readonly by: string,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.by) && inRun(m, this.target);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await settle(m, w, SETTLE_MS, `${this.toString()} (before)`);
    const node = w.node(this.by);
    const c = home(m, this.by);
    if (avoids('leader-to-stopped', c.leader === this.target && stoppedMembers(m, c).filter((x) => x !== this.target).length >= 2)) return;
    const before = node.version;
    await node.leave(this.target);
    const targetRan = isRunning(m, this.target);
    if (!remove(m, this.by, this.target)) {
      saw('leave: nothing to do');
      assert(node.version === before, `${this.toString()} should change nothing, but ${this.by} went from version ${before} to ${node.version}`);
      return;
    }
    saw(this.by === this.target ? 'leave of itself' : targetRan ? 'leave of a running member' : 'leave of a stopped member');
    assert(!node.nodes.includes(this.target) || this.by === this.target, `${this.by} still lists ${this.target} when leave resolved: ${node.nodes.join(',')}`);
    if (this.by === this.target) {
      assertSame([...node.nodes], [this.by], `${this.by}'s members when leave(itself) resolved`);
      assertSame(node.get(), dataValue(home(m, this.by).data), `${this.by}'s data when leave(itself) resolved`);
      assertVersion(m, w, this.by, `${this.toString()} resolved`);
    }
    await settle(m, w, SETTLE_MS, this.toString());
  }
  toString(): string {
    return this.by === this.target ? `leave(${this.target})` : `leave(${this.target} by ${this.by})`;
  }
}

/**
 * Stops a running node (any: a cluster may be left with no member
 * running); its subscribers go with it. After the nodes settled, or right
 * away (the node may not have taken in the last change yet: its node key
 * holds what it held, and it must not act on what it no longer is — a
 * member that no longer leads hands nothing over).
 */
class StopStep extends Step {
  constructor(
    readonly id: string,
    readonly rightAway: boolean,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    if (!this.rightAway) await settle(m, w, SETTLE_MS, `${this.toString()} (before)`);
    const c = home(m, this.id);
    if (avoids('leader-to-stopped', (c.leader === this.id || c.leader === undefined) && stoppedMembers(m, c).length >= 1)) return;
    const node = w.node(this.id);
    if (avoids('stale-handover', node.leader === this.id && c.leader !== this.id && c.leader !== undefined)) return;
    saw(`${c.leader === this.id && c.members.length > 1 ? 'stop of a leader' : runningMembers(m, c).length === 1 ? 'stop of the last running member' : 'stop'}${this.rightAway ? ', right away' : ''}`);
    await w.stop(this.id);
    // What it last held, and what its node key says: the same; or, when a merge took its cluster in while it
    // stopped (before it held the merge), the merged cluster at the merge's version, which the key keeps.
    const held = { cluster: node.rumor.cluster, version: node.rumor.version, nodes: [...node.rumor.nodes] };
    const stored = await nodeKey(w.options.namespace!, this.id);
    const key = stored.cluster === held.cluster && stored.version === held.version && stored.nodes.join(' ') === held.nodes.join(' ') ? held : stored;
    const heldCluster = [...m.clusters.values()].find((x) => x.realId === held.cluster);
    const storedCluster = [...m.clusters.values()].find((x) => x.realId === stored.cluster);
    const merged = heldCluster !== undefined && storedCluster !== undefined && stored.cluster !== held.cluster && stored.version > held.version && lineage(m, heldCluster.name) === storedCluster;
    if (merged) saw('stop while a merge took its cluster in');
    if (key !== held && !merged && !avoids('stop-key-race', true)) {
      throw new Error(`${this.toString()}: ${this.id} last held ${show(held)}, its node key says ${show(stored)}`);
    }
    const keyCluster = [...m.clusters.values()].find((x) => x.realId === key.cluster);
    assert(keyCluster, `${this.id} stopped in cluster ${key.cluster}, which the model never saw`);
    assert(lineage(m, keyCluster.name) === c, `${this.id} stopped in cluster ${key.cluster} (${keyCluster.name}), not in the model's ${c.name} or one it took in`);
    stopNode(m, this.id, { cluster: keyCluster.name, version: key.version, nodes: key.nodes });
    for (const s of m.subs) if (s.nodeId === this.id) s.active = false;
  }
  toString(): string {
    return `stop(${this.id}${this.rightAway ? ', right away' : ''})`;
  }
}

/**
 * Starts a stopped node again with the same id: a cold start from its node
 * key and its cluster's hash, whether or not another member runs. Still a
 * member: it holds the cluster's state as soon as start() resolves. Removed
 * while it was down: it goes on alone with that cluster's data, at the
 * higher of the cluster's version and its own, + 1.
 */
class RestartStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return inRun(m, this.id) && !isRunning(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await settle(m, w, SETTLE_MS, `${this.toString()} (before)`);
    const n = m.nodes.get(this.id)!;
    const keyCluster = n.cluster;
    const k = lineage(m, keyCluster);
    const plan = restartPlan(m, this.id);
    // Its node key's cluster was taken in by another: only a running member its key lists can tell it where that went.
    const told = plan.how === 'adopted' ? n.keyNodes.some((p) => p !== this.id && isRunning(m, p) && home(m, p) === plan.cluster) : plan.from === undefined;
    if (avoids('absorbed-member-restart', k.name !== keyCluster && !told)) return;
    const replaced = k.leader === undefined || (k.leader !== this.id && !isRunning(m, k.leader));
    if (avoids('leader-to-stopped', k.members.includes(this.id) && replaced && stoppedMembers(m, k).filter((x) => x !== this.id).length >= 2)) return;
    const node = await w.start(this.id);
    const how = restartNode(m, this.id);
    saw(`restart: ${how}${k.name !== keyCluster ? ' (its cluster was taken in by another)' : ''}${runningMembers(m, home(m, this.id)).length === 1 ? ', no other member running' : ''}`);
    const c = home(m, this.id);
    const where = `${this.id} when start() resolved (${how === 'alone' ? 'removed while it was down' : 'a member'}, node key ${keyCluster}, now ${lineage(m, keyCluster).name})`;
    assertSame(node.get(), dataValue(c.data), `${where}: data`);
    assertSame([...node.nodes].sort(), [...c.members].sort(), `${where}: members`);
    assertVersion(m, w, this.id, where);
    await settle(m, w, SETTLE_MS, this.toString());
    if (avoids('restart-seen', true)) await new Promise((r) => setTimeout(r, 700));
  }
  toString(): string {
    return `restart(${this.id})`;
  }
}

/** Subscribes a listener (or one that throws on every event) on a running node. */
class SubscribeStep extends Step {
  constructor(
    readonly id: string,
    readonly kind: 'listener' | 'thrower',
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return running(m, this.id);
  }
  protected act(m: Model, w: World): void {
    const label = w.subscribe(this.id, this.kind);
    m.subs.push({ label, nodeId: this.id, kind: this.kind, active: true });
  }
  toString(): string {
    return `${this.kind === 'thrower' ? 'subscribeThrowing' : 'subscribe'}(${this.id})`;
  }
}

/** Unsubscribes the oldest active subscriber of a node, with unsubscribe(handler) or the function subscribe returned. */
class UnsubscribeStep extends Step {
  constructor(
    readonly id: string,
    readonly viaReturnedOff: boolean,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return activeSubs(m).some((s) => s.nodeId === this.id);
  }
  protected act(m: Model, w: World): void {
    const s = activeSubs(m).find((x) => x.nodeId === this.id)!;
    w.unsubscribe(s.label, this.viaReturnedOff);
    s.active = false;
  }
  toString(): string {
    return `unsubscribe(${this.id}${this.viaReturnedOff ? ', via off()' : ''})`;
  }
}

// ---- arbitraries --------------------------------------------------------------

/** Every run has n0–n2; n3 and n4 only some runs, so they come up less. */
const id = fc.oneof({ arbitrary: fc.constantFrom('n0', 'n1', 'n2'), weight: 9 }, { arbitrary: fc.constant('n3'), weight: 2 }, { arbitrary: fc.constant('n4'), weight: 1 });
const leaf: fc.Arbitrary<Json> = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.string({ maxLength: 4 }), fc.constant(null));
const key = fc.constantFrom('a', 'b', 'flag', 'limit', 'name');
const keyValue: fc.Arbitrary<Json> = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }));
const value: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: fc.integer({ min: -1000, max: 1000 }), weight: 4 },
  { arbitrary: fc.dictionary(key, keyValue, { maxKeys: 3, noNullPrototype: true }), weight: 4 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);

/** Two different nodes (a step that names one node twice has its own arbitrary). */
const pair = fc.tuple(id, id).filter(([a, b]) => a !== b);

const steps: fc.Arbitrary<Step>[] = [
  fc.tuple(id, value).map(([n, v]) => new SetStep(n, v)),
  fc.tuple(id, value).map(([n, v]) => new SetStep(n, v)),
  fc.tuple(id, fc.array(value, { minLength: 2, maxLength: 8 })).map(([n, vs]) => new SetBurstStep(n, vs)),
  fc.tuple(id, value).map(([n, v]) => new SetSyncStep(n, v)),
  fc.tuple(id, key, keyValue).map(([n, k, v]) => new CfgStep(n, 'setCfg', [[k, v]])),
  fc.tuple(id, key, keyValue).map(([n, k, v]) => new CfgStep(n, 'setCfg', [[k, v]])),
  fc.tuple(id, key).map(([n, k]) => new CfgStep(n, 'deleteCfg', [[k, undefined]])),
  fc.tuple(id, fc.uniqueArray(fc.tuple(key, fc.option(keyValue, { nil: undefined })), { selector: ([k]) => k, maxLength: 3 })).map(([n, ch]) => new CfgStep(n, 'patchCfg', ch)),
  id.map((n) => new GetStep(n)),
  id.map((n) => new StatusStep(n)),
  pair.map(([n, other]) => new JoinStep(n, other)),
  pair.map(([n, other]) => new JoinStep(n, other)),
  pair.map(([n, other]) => new JoinStep(n, other, false)),
  pair.map(([n, other]) => new JoinStep(n, other, false)),
  id.map((n) => new JoinStep(n, n)),
  pair.map(([n, by]) => new LeaveStep(n, by)),
  pair.map(([n, by]) => new LeaveStep(n, by)),
  id.map((n) => new LeaveStep(n, n)),
  fc.tuple(id, fc.boolean()).map(([n, now]) => new StopStep(n, now)),
  fc.tuple(id, fc.boolean()).map(([n, now]) => new StopStep(n, now)),
  id.map((n) => new RestartStep(n)),
  id.map((n) => new RestartStep(n)),
  id.map((n) => new RestartStep(n)),
  fc.tuple(id, fc.constantFrom('listener' as const, 'thrower' as const)).map(([n, kind]) => new SubscribeStep(n, kind)),
  fc.tuple(id, fc.boolean()).map(([n, off]) => new UnsubscribeStep(n, off)),
];

/** The namespace a run starts from: `size` nodes, the first `members` of them joined by n0, the rest alone. */
const setups = fc
  .record({
    size: fc.integer({ min: 3, max: 5 }),
    members: fc.integer({ min: 1, max: 5 }),
    eventMode: fc.constantFrom<EventMode>('auto', 'sync', 'async'),
  })
  .map((s) => ({ ...s, members: Math.min(s.members, s.size) }));

type Setup = { size: number; members: number; eventMode: EventMode };

// ---- the property -------------------------------------------------------------

let keyClient: Redis | undefined;
afterAll(async () => {
  await keyClient?.quit();
});

/** A node key as Redis holds it: the cluster, version and members its node wrote. */
async function nodeKey(namespace: string, id: string): Promise<{ cluster: string; version: number; nodes: string[] }> {
  keyClient ??= new Redis(redis());
  const f = await keyClient.hgetall(new Keys(namespace, true).snapshot(id));
  return { cluster: f.c ?? '', version: Number(f.v ?? 0), nodes: (f.nodes ?? '').split(' ').filter(Boolean) };
}

/** Removes a run's keys (node keys, cluster hashes, the registry), so a long soak on a shared REDIS_URL leaves little behind (write records expire by themselves). */
async function dropKeys(namespace: string, ids: readonly string[], clusterIds: Iterable<string>): Promise<void> {
  keyClient ??= new Redis(redis());
  const keys = new Keys(namespace, true);
  await keyClient.del(...ids.map((id) => keys.snapshot(id)), ...[...clusterIds].map((c) => keys.cluster(c)), keys.clusters);
}

async function oneRun(setup: Setup, cmds: Iterable<Step>): Promise<void> {
  stats.runs++;
  const namespace = freshNamespace('model');
  const world = new World({
    redis: redis(),
    namespace,
    eventMode: setup.eventMode,
    rpcTimeoutMs: 1_000,
    gossipIntervalMs: 500,
    statusTimeoutMs: 500,
  });
  const ids = Array.from({ length: setup.size }, (_, i) => `n${i}`);
  const model = initialModel(ids);
  try {
    await fc.asyncModelRun(async () => {
      for (const id of ids) await world.start(id);
      for (const id of ids.slice(1, setup.members)) {
        await world.node('n0').join(id);
        merge(model, 'n0', id);
      }
      await settle(model, world, SETTLE_MS, 'the initial clusters formed');
      return { model, real: world };
    }, cmds);
    await settle(model, world, SETTLE_MS, 'the last command');
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- fast-check's commands have a toString of their own: the commands that ran
    if (process.env.SG_MODEL_TRACE) console.log(`run ${stats.runs} ${JSON.stringify(setup)}: ${String(cmds)}`);
  } finally {
    await world.stopAll();
    await dropKeys(namespace, ids, world.clusterIds).catch(() => undefined);
  }
}

describe('model-based', () => {
  it(
    'random writes, config writes, reads, merges, leaves, subscriptions, stops and restarts keep every node on the model',
    async () => {
      const started = Date.now();
      console.log(`model: seed ${SEED}${PATH ? ` path ${PATH}` : ''}, ${RUNS} runs of up to ${MAX_COMMANDS} commands${AVOID.size ? `, avoiding ${[...AVOID].join(',')}` : ''}`);
      try {
        await fc.assert(
          fc.asyncProperty(setups, fc.commands(steps, { maxCommands: MAX_COMMANDS, size: 'max', ...(REPLAY ? { replayPath: REPLAY } : {}) }), (setup, cmds) => oneRun(setup, cmds as Iterable<Step>)),
          {
            numRuns: RUNS,
            seed: SEED,
            ...(PATH ? { path: PATH } : {}),
            verbose: VERBOSE,
            // A stuck run fails instead of hanging; shrinking stops in time to print what it has.
            timeout: 120_000,
            interruptAfterTimeLimit: TEST_TIMEOUT_MS - 60_000,
            markInterruptAsFailure: true,
          },
        );
      } finally {
        const secs = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`model: ${stats.runs} runs (shrinking included), ${stats.commands} commands executed, ${secs} s`);
        console.log(
          `model: cases: ${[...stats.cases]
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, n]) => `${k} ×${n}`)
            .join('; ')}`,
        );
      }
    },
    TEST_TIMEOUT_MS,
  );
});
