/**
 * What keeps a cluster whole without a leader in the write path: the
 * anti-entropy tick (heads to `fanout` random members, and one script that
 * compares this node's head with Redis's and refreshes its liveness), the
 * leader's evictions, a new leader when the old one is gone, discovery, and
 * the restore of a state Redis lost.
 */
import { GOSSIP_JITTER_MS, RESTORE_LOCK_MS } from '../constants.js';
import { PersistenceError } from '../errors.js';
import { dueForEviction, firstLost, judgeTick, SILENT_PERIODS, without } from '../model/housekeeping.js';
import { chooseLeader } from '../model/leader.js';
import { headOf } from '../model/state.js';
import type { Metrics } from '../metrics.js';
import type { ResolvedOptions } from '../options.js';
import type { RedisClock } from '../transport/clock.js';
import type { Connection } from '../transport/connection.js';
import { isHead } from '../transport/envelope.js';
import type { Keys } from '../transport/keys.js';
import type { Messages } from '../transport/messages.js';
import type { Inbox } from './inbox.js';
import type { Membership } from './membership.js';
import type { Store } from './store.js';

export interface HousekeepingDeps<T> {
  readonly o: ResolvedOptions;
  readonly store: Store;
  readonly messages: Messages;
  readonly conn: Connection;
  readonly keys: Keys;
  readonly clock: RedisClock;
  readonly metrics: Metrics;
  readonly inbox: Inbox<T>;
  readonly membership: () => Membership<T>;
  readonly isRunning: () => boolean;
  /** This node has compared its state with Redis's (it is synced). */
  readonly onSynced: () => void;
  readonly report: (err: unknown) => void;
}

export class Housekeeping<T> {
  readonly #d: HousekeepingDeps<T>;
  #timer: NodeJS.Timeout | undefined;
  #restoring: Promise<void> | undefined;
  /** Members whose node key this leader found gone, and since when. */
  readonly #goneSince = new Map<string, number>();

  constructor(deps: HousekeepingDeps<T>) {
    this.#d = deps;
  }

  get #self(): string {
    return this.#d.o.nodeId;
  }

  /** The tick: a self-rescheduling, unref'd timer, re-armed from the current gossip interval. */
  schedule(): void {
    clearTimeout(this.#timer);
    if (!this.#d.isRunning()) return;
    const delay = this.#d.inbox.state.gossipIntervalMs + Math.random() * GOSSIP_JITTER_MS;
    this.#timer = setTimeout(() => {
      // tick() handles what a round fails with; anything that still escapes it is reported, and the timer re-arms either way.
      this.tick()
        .finally(() => this.schedule())
        .catch((err: unknown) => this.#d.report(err));
    }, delay);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  /** One tick: heads to `fanout` random members, the state compared with Redis's, housekeeping. */
  async tick(): Promise<void> {
    const { inbox, metrics, isRunning } = this.#d;
    if (!isRunning()) return;
    metrics.count('antiEntropyRounds');
    const s = inbox.state;
    for (const peer of pickRandom(
      s.nodes.filter((n) => n !== this.#self),
      s.fanout,
    ))
      inbox.sendHead(peer);
    try {
      await this.#againstRedis();
      if (inbox.state.leader === this.#self) await this.#evict();
      await this.#d.membership().discover();
    } catch (err) {
      // A state in Redis that is not valid has no caller to tell: report it (the node keeps its own).
      if (err instanceof PersistenceError) this.#d.report(err);
      else if (isRunning()) this.#d.o.logger.debug('simple-gossip: tick failed', err);
    }
  }

  async #againstRedis(): Promise<void> {
    const { inbox, store, clock } = this.#d;
    const s = inbox.state;
    const sentAt = Date.now();
    const reply = await store.tick(s);
    clock.observe(reply.now, sentAt);
    if (inbox.state !== s) return;
    const verdict = judgeTick({ ...headOf(s), self: this.#self, gossipIntervalMs: s.gossipIntervalMs }, reply);
    const membership = this.#d.membership();
    switch (verdict.kind) {
      case 'fine':
        this.#d.onSynced();
        return;
      case 'restore':
        await this.restore();
        return;
      case 'read':
        if (reply.kind === 'ok') this.#d.metrics.behind(s.cluster, reply.head.version);
        await inbox.read(s.cluster);
        this.#d.onSynced();
        return;
      case 'evicted':
        // Reading it, the node finds itself unlisted and settles where it belongs.
        await inbox.read(s.cluster);
        return;
      case 'lost':
        await this.#lost(
          Math.min(
            verdict.from,
            firstLost(verdict.head, (v) => inbox.hashAt(v)),
          ),
          verdict.to,
        );
        return;
      case 'replace_leader': {
        // The next leader is a member that is live (not stopped, refreshed lately), never another gone one.
        const down = await this.down(s.nodes);
        down.add(verdict.leader);
        await membership.commit((cur) => (cur.leader === verdict.leader ? { leader: chooseLeader(cur.nodes, verdict.leader, down, this.#self), why: `leader ${verdict.leader} gone` } : undefined));
        return;
      }
    }
  }

  /**
   * Redis lost this cluster's last commits (a promoted replica missed them):
   * reported, and the cluster goes on from Redis's state at a version above
   * every one this node held — committed on Redis's state (this node's hash
   * is not there), so the node's subscribers never see the version go down.
   */
  async #lost(from: number, to: number): Promise<void> {
    const { inbox, store } = this.#d;
    const cluster = inbox.state.cluster;
    const stored = await store.read(cluster);
    if (!stored || !stored.state.nodes.includes(this.#self)) return;
    const r = stored.state;
    if (r.version <= to) {
      // The commit records the loss, so every member that held those versions reports it when it reads the state.
      await store.meta(r, r.hash, {
        nodes: r.nodes,
        leader: r.leader,
        fanout: r.fanout,
        gossipIntervalMs: r.gossipIntervalMs,
        why: `lost commits ${from}–${to}`,
        minVersion: to + 1,
        lost: { from, to },
      });
    }
    // (A conflict: another member moved it on first; what it committed is read here all the same.)
    await inbox.read(cluster);
  }

  /** The members that show no sign of life: stopped since their last refresh, or silent for a few gossip periods. This node never is. */
  async down(nodes: readonly string[]): Promise<Set<string>> {
    const { store, clock, inbox } = this.#d;
    const now = clock.now();
    const window = SILENT_PERIODS * inbox.state.gossipIntervalMs + GOSSIP_JITTER_MS;
    const seen = await store.seen(nodes.filter((n) => n !== this.#self));
    return new Set(seen.filter((m) => m.stopped >= m.seen || now - m.seen > window).map((m) => m.id));
  }

  /** On the leader: members silent for evictAfterMs are removed (their node keys deleted). */
  async #evict(): Promise<void> {
    const { o, inbox, store, clock, conn, keys } = this.#d;
    if (o.evictAfterMs <= 0) return;
    const s = inbox.state;
    const seen = await store.seen(s.nodes);
    const threshold = Math.max(o.evictAfterMs, 2 * s.gossipIntervalMs + GOSSIP_JITTER_MS);
    const now = clock.now();
    // A node key that is gone (Redis restarted empty, say) tells nothing of when its node was last seen:
    // such a member counts as silent from when this leader first found it gone (and only while nobody listens for it).
    for (const id of [...this.#goneSince.keys()]) if (!s.nodes.includes(id)) this.#goneSince.delete(id);
    const known = await Promise.all(
      seen.map(async (m) => {
        if (m.seen > 0 || m.id === this.#self) {
          this.#goneSince.delete(m.id);
          return m;
        }
        if ((await conn.listeners(keys.node(m.id))) > 0) return { id: m.id, seen: now };
        if (!this.#goneSince.has(m.id)) this.#goneSince.set(m.id, now);
        return { id: m.id, seen: this.#goneSince.get(m.id)! };
      }),
    );
    for (const id of dueForEviction(known, this.#self, now, threshold)) {
      o.logger.warn(`simple-gossip: evicting ${id}: silent for more than ${threshold} ms`);
      await this.#d.membership().commit((cur) => ({ ...without(cur.nodes, cur.leader, id, this.#self), why: `evict ${id}`, tell: [id], evicted: id }));
    }
  }

  /** Redis lost the cluster's state: the restore lock's holder writes back the newest a live member holds. */
  restore(): Promise<void> {
    this.#restoring ??= this.#restore().finally(() => (this.#restoring = undefined));
    return this.#restoring;
  }

  async #restore(): Promise<void> {
    const { inbox, store, messages, o } = this.#d;
    const cluster = inbox.state.cluster;
    if (await store.exists(cluster)) return;
    if (await store.lockRestore(cluster, RESTORE_LOCK_MS)) {
      o.logger.info(`simple-gossip: ${this.#self} restores cluster ${cluster}, which Redis lost`);
      const others = inbox.state.nodes.filter((n) => n !== this.#self);
      // A member that does not answer holds nothing to restore from: it is left out.
      const heads = await Promise.all(others.map((n) => messages.request(n, 'headreq', {}, Math.min(o.rpcTimeoutMs, 1_000)).catch(() => undefined)));
      let best = { id: this.#self, version: inbox.state.version };
      heads.forEach((h, i) => {
        if (isHead(h) && h.cluster === cluster && h.version > best.version) best = { id: others[i]!, version: h.version };
      });
      if (best.id !== this.#self) {
        const done = await messages.request(best.id, 'restore', {}, o.rpcTimeoutMs).then(
          () => true,
          () => false,
        );
        if (done && (await store.exists(cluster))) return;
      }
      await store.put('restore', { state: inbox.state, book: inbox.book });
      // The node keys went with the state: a member that is down now restarts into its cluster all the same.
      await store.writeNodeKeys(inbox.state, others);
      return;
    }
    // Another member restores: wait for it (bounded), then go on.
    const deadline = Date.now() + RESTORE_LOCK_MS;
    while (Date.now() < deadline && !(await store.exists(cluster))) await new Promise((r) => setTimeout(r, 20).unref());
  }
}

function pickRandom<X>(xs: readonly X[], k: number): X[] {
  const copy = [...xs];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}
