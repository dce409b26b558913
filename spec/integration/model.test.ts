/**
 * Model-based test: random sequences of writes, reads, joins, leaves,
 * subscriptions, stops and restarts on 3–5 in-process nodes over a real
 * Redis, each checked against a model of what the cluster should hold
 * (spec/support/model.ts). A fresh namespace per run; every node is stopped
 * after each run, whatever happened.
 *
 *   npx vitest run spec/integration/model.test.ts                                   # 50 runs
 *   SG_MODEL_RUNS=2000 npx vitest run spec/integration/model.test.ts                # soak
 *   SG_MODEL_SEED=<seed> SG_MODEL_PATH=<path> npx vitest run spec/integration/model.test.ts   # replay a failure
 *
 * Knobs: SG_MODEL_RUNS (default 50), SG_MODEL_COMMANDS (most commands
 * generated per run, default 60; those that do not fit the model at their
 * point are skipped, so a run executes about a third of them),
 * SG_MODEL_SEED / SG_MODEL_PATH (replay the `{ seed, path }` a failure
 * printed), SG_MODEL_VERBOSE (0–2, fast-check's verbosity),
 * SG_MODEL_SETTLE_MS (how long the cluster may take to settle, default 5000),
 * SG_MODEL_AVOID (comma-separated known bugs to steer around while soaking
 * for others; see KNOWN_BUGS), SG_MODEL_TRACE (print every passing run).
 */
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { PropagationTimeoutError } from '../../lib/index.js';
import type { EventMode } from '../../lib/index.js';
import { Keys } from '../../lib/transport/keys.js';
import {
  activeSubs,
  assert,
  assertSame,
  initialModel,
  runningMembers,
  settle,
  show,
  stoppedMembers,
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

/**
 * Bugs this test found in lib, by the name SG_MODEL_AVOID takes. All are
 * fixed (each has a test of its own in membership-edges.test.ts or
 * events.test.ts); the names stay so that, should one come back, a soak can
 * steer around it while it looks for others. By default nothing is avoided.
 */
const KNOWN_BUGS = {
  /**
   * The leader is removed (it calls leave(itself), or another member asks it
   * to) while every node its push goes to (its old tree neighbours and the
   * new leader it picks) is stopped: no running member learns of the change
   * (the member that asked gets the leaver's new solo rumor as the answer),
   * and they go on sending their writes to the node that left, which applies
   * them to its own one-node cluster. Minimal: 4 members, stop 2, the leader
   * leaves.
   */
  'leader-leave': true,
  /**
   * A member removed while it was down restarts and asks a former member
   * that now runs alone first: that "concurrent" answer counts as good
   * enough, so it keeps its old rumor and believes it is still a member of a
   * cluster that no longer lists it, for good.
   */
  'restart-asks-loner': true,
  /**
   * eventMode 'auto': while the queue is drained, a subscriber that throws
   * emits an 'error' into the queue; past 3 waiting events that emit drains
   * synchronously, inside the drain already running, so the later events
   * reach the remaining handlers before the current one: a listener gets
   * versions out of order and ends on stale data (two throwers and a
   * listener on a node that gets two changes in one tick).
   */
  'auto-drain-reentry': true,
} as const;
const AVOID = new Set((process.env.SG_MODEL_AVOID ?? '').split(',').filter(Boolean));
for (const name of AVOID) if (!(name in KNOWN_BUGS)) throw new Error(`SG_MODEL_AVOID: no known bug ${name} (${Object.keys(KNOWN_BUGS).join(', ')})`);
/** Generous: a failure is shrunk against the real Redis, one run at a time. */
const TEST_TIMEOUT_MS = 10 * 60_000 + RUNS * 30_000;

const redis = useRedis();

/** Counters for the summary line. */
const stats = { runs: 0, commands: 0 };

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
 * nodes do not fit the model at that point (not started in this run, not a
 * member, stopped…) is skipped, so removing a step while shrinking leaves
 * the others acting on the same nodes.
 */
abstract class Step implements fc.AsyncCommand<Model, World> {
  abstract check(m: Readonly<Model>): boolean;
  protected abstract act(m: Model, w: World): Promise<void>;
  abstract toString(): string;
  async run(m: Model, w: World): Promise<void> {
    stats.commands++;
    await this.act(m, w);
  }
}

const isRunningMember = (m: Readonly<Model>, id: string) => m.main.has(id) && m.running.has(id);
const isRunningLoner = (m: Readonly<Model>, id: string) => m.loners.has(id) && m.running.has(id);

/** set(value) on a running member: read-your-writes at once. */
class SetStep extends Step {
  constructor(readonly id: string, readonly value: Value) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return isRunningMember(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const node = w.node(this.id);
    await node.set(this.value);
    assertSame(node.get(), this.value, `read-your-writes on ${this.id} after set`);
    m.mainData = this.value;
  }
  toString(): string {
    return `set(${this.id}, ${show(this.value)})`;
  }
}

/**
 * setSync(value) on a running member. With every member up it resolves and
 * every member holds the value at once; with some stopped it rejects with a
 * PropagationTimeoutError naming them (the write still applied), and every
 * member it does not name holds the value.
 */
class SetSyncStep extends Step {
  constructor(readonly id: string, readonly value: Value) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return isRunningMember(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const node = w.node(this.id);
    const stopped = stoppedMembers(m);
    m.mainData = this.value;
    if (stopped.length === 0) {
      await node.setSync(this.value, { timeoutMs: 3_000 });
      for (const member of runningMembers(m)) assertSame(w.node(member).get(), this.value, `${member} right after setSync on ${this.id} resolved`);
      return;
    }
    const err = await node.setSync(this.value, { timeoutMs: 600 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const what = `setSync on ${this.id} with ${stopped.join(',')} stopped`;
    assert(err instanceof PropagationTimeoutError, `${what}: expected a PropagationTimeoutError, got ${err === undefined ? 'success' : String(err)}`);
    const named = new Map(err.laggards.map((l) => [l.nodeId, l.version]));
    for (const s of stopped) {
      assert(named.has(s) && named.get(s) === undefined, `${what}: ${s} should be a laggard with no answer; laggards ${JSON.stringify(err.laggards)}`);
    }
    assertSame(node.get(), this.value, `read-your-writes on ${this.id} after a setSync that timed out`);
    for (const member of runningMembers(m)) {
      if (!named.has(member)) assertSame(w.node(member).get(), this.value, `${member}, not named a laggard by ${what}`);
    }
  }
  toString(): string {
    return `setSync(${this.id}, ${show(this.value)})`;
  }
}

/** get() on a running node, once the cluster has settled: it holds what the model says. */
class GetStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.running.has(this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await settle(m, w, SETTLE_MS, this.toString());
    const expected = m.main.has(this.id) ? m.mainData : m.loners.get(this.id)?.data;
    assertSame(w.node(this.id).get(), expected, `get() on ${this.id}`);
  }
  toString(): string {
    return `get(${this.id})`;
  }
}

/** status() on a running member, once settled: ok with every member up, else 'timeout' naming the stopped ones. */
class StatusStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return isRunningMember(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await settle(m, w, SETTLE_MS, `${this.toString()} (before)`);
    const node = w.node(this.id);
    const s = await node.status();
    const stopped = stoppedMembers(m);
    const what = `status() on ${this.id} with ${stopped.length === 0 ? 'every member up' : `${stopped.join(',')} stopped`}: ${JSON.stringify(s)}`;
    assertSame([...s.nodes].sort(), [...m.main].sort(), `${what}: members`);
    if (stopped.length === 0) {
      assert(s.ok && s.version === node.version, what);
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
 * A running loner writes `values` in turn; its own version counts them
 * (this is what lets it win a later join, see JoinStep).
 */
class SetAloneStep extends Step {
  constructor(readonly id: string, readonly values: Value[]) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return isRunningLoner(m, this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const node = w.node(this.id);
    const loner = m.loners.get(this.id)!;
    for (const v of this.values) {
      await node.set(v);
      assertSame(node.get(), v, `read-your-writes on ${this.id} (alone)`);
      loner.data = v;
      loner.version++;
    }
    assert(node.version === loner.version, `${this.id} (alone) is at version ${node.version} after ${this.values.length} write(s), the model ${loner.version}`);
    assertSame([...node.nodes], [this.id], `${this.id} (alone) members`);
  }
  toString(): string {
    return `setAlone(${this.id}, ${this.values.map(show).join(' ')})`;
  }
}

/**
 * A running member adds a running loner. The side with the higher version
 * keeps its data: the loner's (its exact version is in the model) against
 * the leader's proposal, one past the cluster's version (two when the leader
 * is down and another member takes over first).
 */
class JoinStep extends Step {
  constructor(readonly joiner: string, readonly via: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return isRunningLoner(m, this.joiner) && isRunningMember(m, this.via);
  }
  protected async act(m: Model, w: World): Promise<void> {
    const loner = m.loners.get(this.joiner)!;
    const joiner = w.node(this.joiner);
    assert(joiner.version === loner.version, `${this.joiner} (alone) is at version ${joiner.version}, the model ${loner.version}`);
    const newest = runningMembers(m).map((id) => w.node(id)).reduce((a, b) => (b.version > a.version ? b : a));
    const proposed = newest.version + 1 + (m.running.has(newest.leader) ? 0 : 1);
    await w.node(this.via).join(this.joiner);
    if (loner.version > proposed) m.mainData = loner.data;
    w.moved(this.joiner);
    m.main.add(this.joiner);
    m.loners.delete(this.joiner);
    await settle(m, w, SETTLE_MS, this.toString());
  }
  toString(): string {
    return `join(${this.joiner} via ${this.via})`;
  }
}

/**
 * A running member removes a member (itself or another, running or stopped),
 * as long as the main cluster keeps a running member. A running one goes on
 * alone with the data it had; a stopped one finds out when it restarts.
 */
class LeaveStep extends Step {
  constructor(readonly target: string, readonly by: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.main.has(this.target) && isRunningMember(m, this.by) && [...m.main].some((o) => o !== this.target && m.running.has(o));
  }
  protected async act(m: Model, w: World): Promise<void> {
    const leaderLeaves = runningMembers(m).some((id) => w.node(id).leader === this.target);
    if (AVOID.has('leader-leave') && leaderLeaves && stoppedMembers(m).length > 0) return;
    await w.node(this.by).leave(this.target);
    m.main.delete(this.target);
    if (m.running.has(this.target)) {
      m.loners.set(this.target, { data: m.mainData, version: 1 });
      w.moved(this.target);
    } else {
      m.removedWhileDown.add(this.target);
    }
    await settle(m, w, SETTLE_MS, this.toString());
  }
  toString(): string {
    return this.by === this.target ? `leave(${this.target})` : `leave(${this.target} by ${this.by})`;
  }
}

/** Stops a running node (never the main cluster's last running member); its subscribers go with it. */
class StopStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.running.has(this.id) && (!m.main.has(this.id) || runningMembers(m).length > 1);
  }
  protected async act(m: Model, w: World): Promise<void> {
    await w.stop(this.id);
    m.running.delete(this.id);
    m.stored.set(this.id, m.main.has(this.id) ? [...m.main] : [this.id]);
    for (const s of m.subs) if (s.nodeId === this.id) s.active = false;
  }
  toString(): string {
    return `stop(${this.id})`;
  }
}

/**
 * Starts a stopped node again with the same id: a cold start from its
 * snapshot, checked against a live member. Settled, it holds the model's
 * data and membership. Only when its snapshot names a running member of the
 * main cluster (otherwise it has nobody to learn from, by design).
 */
class RestartStep extends Step {
  constructor(readonly id: string) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    if (!m.ids.includes(this.id) || m.running.has(this.id)) return false;
    if (m.loners.has(this.id)) return true;
    return (m.stored.get(this.id) ?? []).some((p) => p !== this.id && m.main.has(p) && m.running.has(p));
  }
  protected async act(m: Model, w: World): Promise<void> {
    const lonerInSnapshot = (m.stored.get(this.id) ?? []).some((p) => p !== this.id && m.running.has(p) && m.loners.has(p));
    if (AVOID.has('restart-asks-loner') && m.removedWhileDown.has(this.id) && lonerInSnapshot) return;
    await w.start(this.id);
    m.running.add(this.id);
    m.stored.delete(this.id);
    if (m.removedWhileDown.delete(this.id)) m.loners.set(this.id, { data: m.mainData, version: 1 });
    await settle(m, w, SETTLE_MS, this.toString());
  }
  toString(): string {
    return `restart(${this.id})`;
  }
}

/** Subscribes a listener (or one that throws on every event) on a running node. */
class SubscribeStep extends Step {
  constructor(readonly id: string, readonly kind: 'listener' | 'thrower') {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.running.has(this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
    if (AVOID.has('auto-drain-reentry') && this.kind === 'thrower' && w.options.eventMode === 'auto') return;
    const label = w.subscribe(this.id, this.kind);
    m.subs.push({ label, nodeId: this.id, kind: this.kind, active: true });
  }
  toString(): string {
    return `${this.kind === 'thrower' ? 'subscribeThrowing' : 'subscribe'}(${this.id})`;
  }
}

/** Unsubscribes the oldest active subscriber of a node, with unsubscribe(handler) or the function subscribe returned. */
class UnsubscribeStep extends Step {
  constructor(readonly id: string, readonly viaReturnedOff: boolean) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return activeSubs(m).some((s) => s.nodeId === this.id);
  }
  protected async act(m: Model, w: World): Promise<void> {
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
const id = fc.oneof(
  { arbitrary: fc.constantFrom('n0', 'n1', 'n2'), weight: 9 },
  { arbitrary: fc.constant('n3'), weight: 2 },
  { arbitrary: fc.constant('n4'), weight: 1 },
);
const leaf: fc.Arbitrary<Json> = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.string({ maxLength: 4 }), fc.constant(null));
const key = fc.constantFrom('a', 'b', 'flag', 'limit', 'name');
const value: fc.Arbitrary<Value> = fc.oneof(
  { arbitrary: fc.integer({ min: -1000, max: 1000 }), weight: 4 },
  { arbitrary: fc.dictionary(key, fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })), { maxKeys: 3, noNullPrototype: true }), weight: 4 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);

const steps: fc.Arbitrary<Step>[] = [
  fc.tuple(id, value).map(([n, v]) => new SetStep(n, v)),
  fc.tuple(id, value).map(([n, v]) => new SetStep(n, v)),
  fc.tuple(id, value).map(([n, v]) => new SetSyncStep(n, v)),
  id.map((n) => new GetStep(n)),
  id.map((n) => new GetStep(n)),
  id.map((n) => new StatusStep(n)),
  fc.tuple(id, fc.array(value, { minLength: 1, maxLength: 12 })).map(([n, vs]) => new SetAloneStep(n, vs)),
  fc.tuple(id, id).map(([n, via]) => new JoinStep(n, via)),
  fc.tuple(id, id).map(([n, via]) => new JoinStep(n, via)),
  fc.tuple(id, id).map(([n, by]) => new LeaveStep(n, by)),
  id.map((n) => new LeaveStep(n, n)),
  id.map((n) => new StopStep(n)),
  id.map((n) => new RestartStep(n)),
  id.map((n) => new RestartStep(n)),
  fc.tuple(id, fc.constantFrom('listener' as const, 'thrower' as const)).map(([n, kind]) => new SubscribeStep(n, kind)),
  fc.tuple(id, fc.boolean()).map(([n, off]) => new UnsubscribeStep(n, off)),
];

/** The cluster a run starts from: `size` nodes, the first `members` of them joined, the rest alone. */
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

/** Removes a run's snapshot keys, so a long soak on a shared REDIS_URL leaves nothing behind (leases expire by themselves). */
async function dropKeys(namespace: string, ids: readonly string[]): Promise<void> {
  keyClient ??= new Redis(redis());
  const keys = new Keys(namespace);
  await keyClient.del(...ids.map((id) => keys.snapshot(id)));
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
  const model = initialModel(ids, setup.members);
  try {
    await fc.asyncModelRun(async () => {
      for (const id of ids) await world.start(id);
      for (const id of ids.slice(1, setup.members)) await world.node('n0').join(id);
      await settle(model, world, SETTLE_MS, 'the initial cluster formed');
      return { model, real: world };
    }, cmds);
    await settle(model, world, SETTLE_MS, 'the last command');
    if (process.env.SG_MODEL_TRACE) console.log(`run ${stats.runs} ${JSON.stringify(setup)}: ${String(cmds)}`);
  } finally {
    await world.stopAll();
    await dropKeys(namespace, ids).catch(() => undefined);
  }
}

describe('model-based', () => {
  it(
    'random writes, reads, joins, leaves, subscriptions, stops and restarts keep every node on the model',
    async () => {
      const started = Date.now();
      console.log(`model: seed ${SEED}${PATH ? ` path ${PATH}` : ''}, ${RUNS} runs of up to ${MAX_COMMANDS} commands`);
      try {
        await fc.assert(
          fc.asyncProperty(setups, fc.commands(steps, { maxCommands: MAX_COMMANDS, size: 'max' }), (setup, cmds) => oneRun(setup, cmds as Iterable<Step>)),
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
      }
    },
    TEST_TIMEOUT_MS,
  );
});
