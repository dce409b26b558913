/**
 * An [OpenFeature](https://openfeature.dev) provider that serves feature
 * flags from a simple-gossip node's config: each flag is one config key,
 * read from the node's local frozen copy (no I/O per evaluation), and a
 * change of keys is a `ConfigurationChanged` event. `@openfeature/server-sdk`
 * is an optional peer dependency: install it yourself. Import it from
 * `simple-gossip/openfeature`; the main entry point never loads it.
 *
 * ```ts
 * import { OpenFeature } from '@openfeature/server-sdk';
 * import { Gossip } from 'simple-gossip';
 * import { GossipProvider } from 'simple-gossip/openfeature';
 *
 * const node = await Gossip.start({ nodeId: 'api-1' });
 * await OpenFeature.setProviderAndWait(new GossipProvider(node));
 * const enabled = await OpenFeature.getClient().getBooleanValue('new-checkout', false);
 * ```
 *
 * @module simple-gossip/openfeature
 */
import { isDeepStrictEqual } from 'node:util';
import { ErrorCode, OpenFeatureEventEmitter, ProviderEvents, StandardResolutionReasons } from '@openfeature/server-sdk';
import type { JsonValue, Provider, ProviderMetadata, ResolutionDetails } from '@openfeature/server-sdk';

/** The 'data' event of a node. */
export interface DataEvent {
  /** The node's new data. */
  readonly data: unknown;
  /** The cluster version that holds it. */
  readonly version: number;
}

/** What the provider reads from a node: any `Gossip` fits, whatever its data type. */
export interface FlagSource {
  /** The `version` of each evaluation's flag metadata. */
  readonly version: number;
  /** Whether the node has compared its state with Redis's since it started or reconnected. */
  readonly synced: boolean;
  /** The node's data: flags are its keys (a plain object or a Map). */
  get(): unknown;
  /** The provider's initialisation waits for it. */
  whenSynced(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** The provider listens to data changes from its initialisation until it is closed. */
  on(type: 'data', handler: (event: DataEvent) => void): unknown;
  /** Stops listening. */
  off(type: 'data', handler: (event: DataEvent) => void): unknown;
}

/** Options of {@link GossipProvider}. */
export interface GossipProviderOptions {
  /**
   * How long the provider's initialisation waits for the node to be synced
   * before the provider goes to ERROR.
   * @default the node's `connectTimeoutMs` (10000)
   */
  readonly syncTimeoutMs?: number;
}

type FlagType = 'boolean' | 'string' | 'number' | 'object';

/**
 * Flags from a node's config. A flag is the config key of its name
 * (`setCfg('new-checkout', true)`); the evaluation context is not used (every
 * evaluation of a key gives the value the node holds).
 *
 * - A key that holds a value of another type: the default, with
 *   `TYPE_MISMATCH`. An object flag is any object or array.
 * - A key that is not there (or data that is not an object of keys): the
 *   default, with `FLAG_NOT_FOUND`.
 * - Otherwise the value, with reason `STATIC` while the node is synced with
 *   Redis, and `CACHED` while it serves the last state it holds (its Redis
 *   connection is down, or it has not compared with Redis since it came
 *   back). The flag metadata carries the cluster `version`.
 *
 * The provider is ready once the node is synced. When keys change (a write
 * on any member), it emits `ConfigurationChanged` with `flagsChanged`: the
 * keys set, changed or removed. Closing the provider leaves the node running.
 */
export class GossipProvider implements Provider {
  /** The provider's name for OpenFeature: `simple-gossip`. */
  readonly metadata: ProviderMetadata = Object.freeze({ name: 'simple-gossip' });
  /** A server-side provider (`@openfeature/server-sdk`). */
  readonly runsOn = 'server' as const;
  /** Where `ConfigurationChanged` is emitted. */
  readonly events = new OpenFeatureEventEmitter();
  readonly #node: FlagSource;
  readonly #syncTimeoutMs: number | undefined;
  /** The data as of the last change event; undefined when not listening. */
  #last: { data: unknown } | undefined;

  constructor(node: FlagSource, options: GossipProviderOptions = {}) {
    if (typeof node?.get !== 'function' || typeof node.on !== 'function') throw new TypeError('GossipProvider needs a started simple-gossip node');
    const t = options.syncTimeoutMs;
    if (t !== undefined && (!Number.isFinite(t) || t < 0)) throw new RangeError(`syncTimeoutMs must be a non-negative number, not ${String(t)}`);
    this.#node = node;
    this.#syncTimeoutMs = t;
  }

  /** Called by the SDK: resolves once the node is synced (READY), rejects when it is not in time or stopped (ERROR). */
  async initialize(): Promise<void> {
    await this.#node.whenSynced(this.#syncTimeoutMs === undefined ? {} : { timeoutMs: this.#syncTimeoutMs });
    if (this.#last) return;
    this.#last = { data: this.#node.get() };
    this.#node.on('data', this.#onData);
  }

  /** Called by the SDK: stops listening to the node (which goes on running). */
  onClose(): Promise<void> {
    this.#node.off('data', this.#onData);
    this.#last = undefined;
    return Promise.resolve();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.#resolve(flagKey, defaultValue, 'boolean'));
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.#resolve(flagKey, defaultValue, 'string'));
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.#resolve(flagKey, defaultValue, 'number'));
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.#resolve(flagKey, defaultValue, 'object'));
  }

  #resolve<V>(flagKey: string, defaultValue: V, type: FlagType): ResolutionDetails<V> {
    const flagMetadata = { version: this.#node.version };
    const value = lookup(this.#node.get(), flagKey);
    if (value === undefined) {
      return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.FLAG_NOT_FOUND, errorMessage: `no config key "${flagKey}"`, flagMetadata };
    }
    if (!isOfType(value, type)) {
      return {
        value: defaultValue,
        reason: StandardResolutionReasons.ERROR,
        errorCode: ErrorCode.TYPE_MISMATCH,
        errorMessage: `config key "${flagKey}" holds ${describe(value)}, not a ${type}`,
        flagMetadata,
      };
    }
    return { value: value as V, reason: this.#node.synced ? StandardResolutionReasons.STATIC : StandardResolutionReasons.CACHED, flagMetadata };
  }

  readonly #onData = ({ data, version }: DataEvent): void => {
    const last = this.#last;
    if (!last) return;
    const flagsChanged = changedFlags(last.data, data);
    last.data = data;
    if (flagsChanged.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged, metadata: { version } });
  };
}

/** The value under `key` of config data (a plain object or a Map), or undefined. */
function lookup(data: unknown, key: string): unknown {
  if (data instanceof Map) return (data as ReadonlyMap<unknown, unknown>).get(key);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  return Object.hasOwn(data, key) ? (data as Record<string, unknown>)[key] : undefined;
}

/** The keys of config data with their values (none for data that is not an object of keys). */
function entries(data: unknown): Map<string, unknown> {
  if (data instanceof Map) return new Map([...(data as ReadonlyMap<unknown, unknown>)].filter((e): e is [string, unknown] => typeof e[0] === 'string'));
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return new Map();
  return new Map(Object.entries(data));
}

/** The keys set, changed or removed between two versions of the data, in the order they appear. */
export function changedFlags(before: unknown, after: unknown): string[] {
  if (before === after) return [];
  const a = entries(before);
  const b = entries(after);
  const out: string[] = [];
  for (const [key, value] of b) {
    const old = a.get(key);
    if (!a.has(key) || (old !== value && !isDeepStrictEqual(old, value))) out.push(key);
  }
  for (const key of a.keys()) if (!b.has(key)) out.push(key);
  return out;
}

function isOfType(value: unknown, type: FlagType): boolean {
  return type === 'object' ? typeof value === 'object' && value !== null : typeof value === type;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const t = typeof value;
  return t === 'object' ? 'an object' : `a ${t}`;
}
