/**
 * Every Redis key and channel name, built in one place. Names end in a
 * delimiter-separated id so one namespace's pattern cannot match another's.
 */
export class Keys {
  constructor(readonly namespace: string) {}

  /** The channel a member listens on. */
  node(id: string): string {
    return `${this.namespace}:node:${id}`;
  }

  /** A PUBSUB CHANNELS pattern for every member channel of the namespace. */
  get nodePattern(): string {
    return `${this.namespace}:node:*`;
  }

  /** The node id of a member channel (see {@link node}). */
  nodeOf(channel: string): string | undefined {
    const prefix = `${this.namespace}:node:`;
    return channel.startsWith(prefix) ? channel.slice(prefix.length) : undefined;
  }

  /** The channel a non-member client (CLI, probe) listens on. */
  observer(id: string): string {
    return `${this.namespace}:observer:${id}`;
  }

  /** Where a member keeps its latest rumor. */
  snapshot(id: string): string {
    return `${this.namespace}:snapshot:${id}`;
  }

  /** The leader's lease of one cluster: who may commit writes. */
  lease(cluster: string): string {
    return `${this.namespace}:lease:${cluster}`;
  }

  /** The channel to answer a sender on. */
  replyTo(from: string, observer: boolean | undefined): string {
    return observer ? this.observer(from) : this.node(from);
  }
}
