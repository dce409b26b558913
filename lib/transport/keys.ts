/**
 * Every Redis key and channel name, built in one place. Names end in a
 * delimiter-separated id so one namespace's pattern cannot match another's.
 */
export class Keys {
  readonly #p: string;

  /**
   * `tagged`: every name starts with the hash tag `{<namespace>}`, so one
   * script can touch a cluster's keys and publish to its members' channels
   * on a Redis Cluster too (one slot per namespace).
   */
  constructor(
    readonly namespace: string,
    tagged = false,
  ) {
    this.#p = tagged ? `{${namespace}}` : namespace;
  }

  /** The channel a member listens on. */
  node(id: string): string {
    return `${this.#p}:node:${id}`;
  }

  /** A PUBSUB CHANNELS pattern for every member channel of the namespace. */
  get nodePattern(): string {
    return `${this.#p}:node:*`;
  }

  /** The node id of a member channel (see {@link node}). */
  nodeOf(channel: string): string | undefined {
    const prefix = `${this.#p}:node:`;
    return channel.startsWith(prefix) ? channel.slice(prefix.length) : undefined;
  }

  /** The channel a non-member client (CLI, probe) listens on. */
  observer(id: string): string {
    return `${this.#p}:observer:${id}`;
  }

  /** Where a member keeps its latest rumor. */
  snapshot(id: string): string {
    return `${this.#p}:snapshot:${id}`;
  }

  /** A cluster's state: version, hash, members, settings, data. */
  cluster(id: string): string {
    return `${this.#p}:cluster:${id}`;
  }

  /** The registry of the namespace's clusters: id → "<last seen> <size> <created> <gossip interval>". */
  get clusters(): string {
    return `${this.#p}:clusters`;
  }

  /** The record of a committed write (its version), kept for retries. */
  write(id: string): string {
    return `${this.#p}:write:${id}`;
  }

  /** Held by a process while it starts as node `id`, so two cannot start as one. */
  claim(id: string): string {
    return `${this.#p}:claim:${id}`;
  }

  /** The lock a member takes while it restores a cluster's state Redis lost. */
  restore(cluster: string): string {
    return `${this.#p}:restore:${cluster}`;
  }

  /** The prefix of every member channel (the scripts add the id). */
  get nodePrefix(): string {
    return `${this.#p}:node:`;
  }

  /** The leader's lease of one cluster: who may commit writes. */
  lease(cluster: string): string {
    return `${this.#p}:lease:${cluster}`;
  }

  /** The channel to answer a sender on. */
  replyTo(from: string, observer: boolean | undefined): string {
    return observer ? this.observer(from) : this.node(from);
  }
}
