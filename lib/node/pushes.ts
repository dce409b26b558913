import { STAR_GAP_PER_MEMBER_MS } from '../constants.js';
import type { Rumor } from '../model/rumor.js';
import { BroadcastCache } from '../model/tree.js';
import type { Wire } from '../transport/wire.js';

/** A push already published for a commit: its targets, and how many listened to each. */
export interface Pushed {
  readonly targets: readonly string[];
  readonly listeners: readonly number[];
}

/** One change to push: to this node's children in the broadcast tree of `root`, never back to `from`, and to `extra`. */
export interface Wave<T> {
  readonly rumor: Rumor<T>;
  readonly root: string;
  readonly from: string | undefined;
  readonly extra: readonly string[];
}

/**
 * A node's pushes: who gets a change, in what order, and how often. Under
 * load only the newest change goes out; stars are paced; a target nobody
 * listens for has its subtree served by the sender.
 */
export class Pushes<T> {
  readonly #broadcast = new BroadcastCache();
  /** A push on its way, and the changes waiting for it (the newest of each cluster in a row). */
  #pushing = false;
  readonly #waiting: Wave<T>[] = [];
  /** The timer of a star push held back by pacing, and when the last star went. */
  #paced: NodeJS.Timeout | undefined;
  #lastStar = -Infinity;
  #idle: Promise<void> | undefined;
  #whenIdle: () => void = () => undefined;

  constructor(
    private readonly self: string,
    /**
     * Whether the changes this node starts go out as a star: where Redis
     * fans one message out to many channels (a standalone Redis), the node
     * sends a change to every member in one command — one hop for all,
     * nobody passes it on. Otherwise (Redis Cluster) changes travel down
     * the broadcast tree of the epidemic tree, `fanout` pushes per node.
     */
    readonly fansOut: boolean,
    private readonly wire: Wire,
  ) {}

  /**
   * Pushes a change; under load only the newest: while one push is on its
   * way, later changes wait, and each newer one replaces the one waiting.
   * A star (see {@link Pushes.fansOut}) wakes every member, so stars are paced:
   * one at most every {@link STAR_GAP_PER_MEMBER_MS} per member, the
   * newest change waiting meanwhile — a lone change goes out at once.
   */
  push(wave: Wave<T>): void {
    if (this.#pushing || this.#paced) {
      this.#wait(wave);
      return;
    }
    this.#idle ??= new Promise((resolve) => (this.#whenIdle = resolve));
    const { rumor, root } = wave;
    const star = root === this.self && this.fansOut;
    const early = star ? this.#starDue(rumor) - performance.now() : 0;
    if (early > 0) {
      this.#wait(wave);
      this.#paced = setTimeout(() => {
        this.#paced = undefined;
        this.#next();
      }, Math.ceil(early));
      return;
    }
    this.#pushing = true;
    if (star) this.#lastStar = performance.now();
    const targets = this.targets(rumor, wave.from, wave.extra, root);
    void this.#spread(rumor, root, targets, new Set([this.self, ...targets]), star).finally(() => {
      this.#pushing = false;
      this.#next();
    });
  }

  /** Pushes the next waiting change, or reports that every change is out. */
  #next(): void {
    const next = this.#waiting.shift();
    if (next) return this.push(next);
    this.#idle = undefined;
    this.#whenIdle();
  }

  #wait(wave: Wave<T>): void {
    const last = this.#waiting.at(-1);
    if (last && last.rumor.cluster === wave.rumor.cluster) {
      // The newer rumor of the same cluster carries the older one's change. The extra targets
      // (a removed node, a new leader) must still hear; the sender to skip may differ.
      this.#waiting[this.#waiting.length - 1] = { ...wave, from: undefined, extra: [...new Set([...last.extra, ...wave.extra])] };
    } else {
      // Another cluster's rumor (this node left, or was removed) does not replace the last word to the old one.
      this.#waiting.push(wave);
    }
  }

  /** When this node's next star push of `rumor` may go (performance.now() time). */
  #starDue(rumor: Rumor<T>): number {
    return this.#lastStar + STAR_GAP_PER_MEMBER_MS * (rumor.nodes.length - 1);
  }

  /** Whether a star push of `rumor` may go now, in the leader's commit (nothing waiting, not too soon). */
  mayStar(rumor: Rumor<T>): boolean {
    return this.fansOut && !this.#pushing && !this.#paced && this.#waiting.length === 0 && performance.now() >= this.#starDue(rumor);
  }

  /**
   * Who this node pushes `rumor` to: every other member when it starts the
   * change and Redis fans out; else its children in the broadcast tree of
   * `root`. And `extra`; never `from`.
   */
  targets(rumor: Rumor<T>, from: string | undefined, extra: readonly string[], root = this.self): string[] {
    const self = this.self;
    const targets = new Set(root === self && this.fansOut ? rumor.nodes : this.#broadcast.children(rumor.nodes, rumor.fanout, root, self));
    for (const n of extra) targets.add(n);
    targets.delete(self);
    if (from !== undefined) targets.delete(from);
    return [...targets];
  }

  /**
   * A star push of `rumor` that went out another way (in the leader's commit
   * script): counts for pacing; the subtrees of targets nobody listened for
   * get it now.
   */
  published(rumor: Rumor<T>, root: string, pushed: Pushed): void {
    this.#lastStar = performance.now();
    const absent = pushed.targets.filter((_, i) => pushed.listeners[i] === 0);
    if (absent.length === 0) return;
    void this.#forward(rumor, root, absent, new Set([this.self, ...pushed.targets]));
  }

  /** Resolves once every change so far has been pushed (published to Redis). */
  async pushed(): Promise<void> {
    await this.#idle;
  }

  /**
   * Pushes down the broadcast tree; when nobody listens for a child (a
   * PUBLISH that reached 0), its children get the push instead, so one dead
   * member does not cut its subtree off until the next anti-entropy round.
   */
  async #spread(rumor: Rumor<T>, root: string, targets: string[], sent: Set<string>, star = false): Promise<void> {
    const absent = await this.wire.push(rumor, targets, root === this.self ? undefined : root, star).catch(() => []);
    await this.#forward(rumor, root, absent, sent);
  }

  /** Pushes to the children of `absent` (targets nobody listened for) instead. */
  async #forward(rumor: Rumor<T>, root: string, absent: readonly string[], sent: Set<string>): Promise<void> {
    const next = absent
      .filter((id) => rumor.nodes.includes(id))
      .flatMap((id) => this.#broadcast.children(rumor.nodes, rumor.fanout, root, id))
      .filter((id) => !sent.has(id));
    for (const id of next) sent.add(id);
    if (next.length > 0) await this.#spread(rumor, root, next, sent);
  }
}
