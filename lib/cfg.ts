/**
 * Config mode: the data seen as an object of keys (a plain object, or a Map).
 * Reads are a property check on the frozen object; writes are updaters that
 * copy it with one key changed.
 */
import type { Updater } from './updates.js';

export function readCfg<V>(data: unknown, key: string, dflt: V | undefined): V | undefined {
  if (data === undefined) return dflt;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw notAnObject('getCfg', data);
  if (data instanceof Map) return data.has(key) ? (data.get(key) as V) : dflt;
  return Object.hasOwn(data, key) ? ((data as Record<string, V>)[key] as V) : dflt;
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
