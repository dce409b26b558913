import * as mittModule from 'mitt';
import type { Emitter, EventType } from 'mitt';
import { AUTO_SYNC_THRESHOLD } from './constants.js';
import { SubscriberError } from './errors.js';
import type { State } from './model/state.js';
import type { EventMode, Logger } from './options.js';

// mitt runs as ESM but its types read as CommonJS: take the factory either way.
type MittFactory = <E extends Record<EventType, unknown>>() => Emitter<E>;
const mitt = ((mittModule as { default?: unknown }).default ?? mittModule) as MittFactory;

/** The events a node emits. */
export type GossipEvents<T, R = State<T>> = {
  /** The data changed (not emitted for membership or settings changes). */
  data: {
    /** The new data (deep-frozen). */
    readonly data: T | undefined;
    /** The version that holds it. */
    readonly version: number;
  };
  /** The state changed in any way (data, members, leader, settings). */
  rumor: R;
  /** A problem with no caller to reject: a bad message, a failed snapshot write, a subscriber that threw. */
  error: Error;
};

/** The names of the events: 'data', 'rumor', 'error'. */
export type GossipEventType = keyof GossipEvents<unknown>;
/** A subscriber. */
export type Handler<E> = (event: E) => void;

type Queued<T, R> = { [K in GossipEventType]: { type: K; event: GossipEvents<T, R>[K] } }[GossipEventType];

/**
 * mitt, with what a library needs on top: a handler registered twice runs
 * once, a handler that throws never stops the others or the node, and the
 * delivery mode of the original (sync, async, auto).
 */
export class EventBus<T, R = State<T>> {
  readonly #mitt: Emitter<GossipEvents<T, R>> = mitt();
  readonly #wrapped = new Map<GossipEventType, Map<Handler<never>, Handler<never>>>();
  readonly #queue: Queued<T, R>[] = [];
  #scheduled = false;
  /** Set while events are being delivered: an event emitted by a handler then waits its turn. */
  #draining = false;

  constructor(
    private readonly mode: EventMode,
    private readonly logger: Logger,
  ) {}

  on<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, R>[K]>): void {
    let byHandler = this.#wrapped.get(type);
    if (!byHandler) this.#wrapped.set(type, (byHandler = new Map<Handler<never>, Handler<never>>()));
    if (byHandler.has(handler)) return;
    const safe: Handler<GossipEvents<T, R>[K]> = (event) => {
      try {
        handler(event);
      } catch (err) {
        this.#handlerFailed(type, err);
      }
    };
    byHandler.set(handler, safe);
    this.#mitt.on(type, safe);
  }

  off<K extends GossipEventType>(type: K, handler: Handler<GossipEvents<T, R>[K]>): void {
    const safe = this.#wrapped.get(type)?.get(handler);
    if (!safe) return;
    this.#wrapped.get(type)!.delete(handler);
    this.#mitt.off(type, safe as Handler<GossipEvents<T, R>[K]>);
  }

  /** Removes `handler` from every event type. */
  offAll(handler: Handler<never>): void {
    for (const type of this.#wrapped.keys()) this.off(type, handler as Handler<GossipEvents<T, R>[typeof type]>);
  }

  has(type: GossipEventType): boolean {
    return (this.#wrapped.get(type)?.size ?? 0) > 0;
  }

  emit<K extends GossipEventType>(type: K, event: GossipEvents<T, R>[K]): void {
    this.#queue.push({ type, event } as Queued<T, R>);
    if (this.mode === 'sync' || (this.mode === 'auto' && this.#queue.length > AUTO_SYNC_THRESHOLD)) {
      this.#drain();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#drain());
    }
  }

  /** Delivers every queued event, in order. */
  #drain(): void {
    this.#scheduled = false;
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue.shift()!;
        this.#deliver(next);
      }
    } finally {
      this.#draining = false;
    }
  }

  #deliver(q: Queued<T, R>): void {
    if (q.type === 'error' && !this.has('error')) {
      this.logger.warn('simple-gossip:', q.event);
      return;
    }
    this.#mitt.emit(q.type, q.event as never);
  }

  #handlerFailed(type: GossipEventType, err: unknown): void {
    if (type === 'error') {
      this.logger.error('simple-gossip: an error handler threw', err);
      return;
    }
    this.emit('error', new SubscriberError(type, err));
  }
}
