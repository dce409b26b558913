/**
 * Config mode: the data seen as an object of keys (a plain object, or a Map).
 * Reads are a property check on the frozen object; writes are updaters that
 * copy it with one key changed.
 */
import type { Updater } from './updates.js';

/**
 * Config reads as fast as a `Map.get`: the frozen data object is indexed
 * into a Map once, on the first read after it changed.
 */
export class CfgView {
  #data: unknown = CfgView;
  #map: ReadonlyMap<unknown, unknown> = new Map();
  /** Whether some key holds undefined (only then does a miss need a second lookup). */
  #holdsUndefined = false;
  /** Set when the data is not an object of keys: reads of it are a TypeError. */
  #invalid: TypeError | undefined;

  read<V>(data: unknown, key: string, dflt: V | undefined): V | undefined {
    if (data !== this.#data) this.#index(data);
    const v = this.#map.get(key);
    if (v !== undefined) return v as V;
    if (this.#invalid) throw this.#invalid;
    return this.#holdsUndefined && this.#map.has(key) ? undefined : dflt;
  }

  #index(data: unknown): void {
    this.#data = data;
    this.#invalid = undefined;
    if (data === undefined) {
      this.#map = new Map();
    } else if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      this.#map = new Map();
      this.#invalid = notAnObject('getCfg', data);
    } else if (data instanceof Map) {
      this.#map = data;
    } else {
      this.#map = new Map(Object.entries(data));
    }
    this.#holdsUndefined = false;
    for (const v of this.#map.values()) {
      if (v === undefined) {
        this.#holdsUndefined = true;
        break;
      }
    }
  }
}

export function setCfgUpdater<T>(key: string, value: unknown): Updater<T> {
  return (cur) => {
    const d = asObject('setCfg', cur);
    if (d instanceof Map) return { change: new Map(d).set(key, value) as T };
    return { change: { ...d, [key]: value } as T };
  };
}

export function deleteCfgUpdater<T>(key: string): Updater<T> {
  return (cur) => {
    const d = asObject('deleteCfg', cur);
    if (d instanceof Map) {
      if (!d.has(key)) return 'no_change';
      const next = new Map(d);
      next.delete(key);
      return { change: next as T };
    }
    if (!Object.hasOwn(d, key)) return 'no_change';
    const { [key]: _gone, ...rest } = d as Record<string, unknown>;
    return { change: rest as T };
  };
}

function asObject(call: string, d: unknown): object {
  if (d === undefined) return {};
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw notAnObject(call, d);
  return d;
}

function notAnObject(call: string, d: unknown): TypeError {
  const kind = d === null ? 'null' : Array.isArray(d) ? 'an array' : typeof d;
  return new TypeError(`${call} needs the data to be an object of keys (or undefined), but it is ${kind}`);
}
