import type { Connection } from '../transport/connection.js';
import type { Keys } from '../transport/keys.js';
import type { ResolvedOptions } from '../options.js';
import type { LeaderRole } from './leader.js';
import type { WriteRouter } from './router.js';
import type { NodeState } from './state.js';

export interface HealerDeps<T> {
  readonly self: string;
  readonly state: NodeState<T>;
  readonly conn: Connection;
  readonly keys: Keys;
  readonly router: WriteRouter<T>;
  readonly leader: LeaderRole<T>;
  readonly o: ResolvedOptions;
}

/**
 * A cluster that assembles and heals itself, with Redis as the coordinator:
 * discovery (join 'auto') finds the live member channels of the namespace and
 * joins the cluster of the smallest live id, so every live node ends in one
 * cluster; eviction (on the leader) removes a member whose channel has had no
 * listener for `evictAfterMs`.
 */
export class Healer<T> {
  readonly #d: HealerDeps<T>;
  /** Member → when its channel was first seen without a listener. */
  readonly #silentSince = new Map<string, number>();
  #joining = false;
  /** Set when this node left on purpose: discovery would undo it. */
  paused = false;

  constructor(deps: HealerDeps<T>) {
    this.#d = deps;
  }

  /** Joins the cluster of the smallest live node id when this node's cluster does not hold it. */
  async discover(): Promise<void> {
    const { self, state, conn, keys, router, o } = this.#d;
    if (o.join !== 'auto' || this.paused || this.#joining) return;
    const live = (await conn.channels(keys.nodePattern)).map((c) => keys.nodeOf(c)).filter((id): id is string => id !== undefined);
    const anchor = live.sort()[0];
    if (anchor === undefined || anchor === self || state.rumor.nodes.includes(anchor)) return;
    this.#joining = true;
    try {
      o.logger.info(`simple-gossip: ${self} asks the cluster of ${anchor} to take it in`);
      await router.route({ kind: 'join', id: self }, anchor);
    } finally {
      this.#joining = false;
    }
  }

  /**
   * On the leader: removes members whose channel has had no listener for
   * `evictAfterMs`. Resolves to when the next silent member falls due (ms
   * from now), so the caller can look again right then.
   */
  async evict(now = Date.now()): Promise<number | undefined> {
    const { self, state, conn, keys, leader, o } = this.#d;
    if (o.evictAfterMs <= 0 || !state.isLeader()) {
      this.#silentSince.clear();
      return undefined;
    }
    const others = state.rumor.nodes.filter((n) => n !== self);
    const counts = await conn.listenersOf(others.map((n) => keys.node(n)));
    for (const id of [...this.#silentSince.keys()]) if (!others.includes(id)) this.#silentSince.delete(id);
    for (const [i, id] of others.entries()) {
      if ((counts[i] ?? 0) > 0) {
        this.#silentSince.delete(id);
        continue;
      }
      const since = this.#silentSince.get(id) ?? now;
      this.#silentSince.set(id, since);
      if (now - since < o.evictAfterMs) continue;
      o.logger.warn(`simple-gossip: evicting ${id}: nobody has listened on its channel for ${now - since} ms`);
      this.#silentSince.delete(id);
      await leader.submit({ kind: 'leave', id });
    }
    const due = [...this.#silentSince.values()].map((since) => since + o.evictAfterMs - Date.now());
    return due.length > 0 ? Math.max(0, Math.min(...due)) : undefined;
  }
}
