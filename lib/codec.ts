/**
 * Values as text: plain JSON where JSON carries them exactly, superjson for
 * the rest, and a clear TypeError for what neither carries.
 */
import superjson from 'superjson';

/**
 * Throws a TypeError naming the first part of `value` that would not arrive
 * intact on another node: functions and symbols (which superjson silently
 * drops), class instances (which would lose their prototype), and the keys
 * `__proto__`, `constructor` and `prototype` (which superjson refuses).
 */
export function assertSerializable(value: unknown, path = 'value', seen = new Set<unknown>()): void {
  if (typeof value === 'function') throw new TypeError(`${path} is a function, which cannot be sent to other nodes`);
  if (typeof value === 'symbol') throw new TypeError(`${path} is a symbol, which cannot be sent to other nodes`);
  if (typeof value !== 'object' || value === null || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertSerializable(v, `${path}[${i}]`, seen));
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      assertSerializable(k, `${path} key`, seen);
      assertSerializable(v, `${path}.get(${String(k)})`, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) assertSerializable(v, `${path} member`, seen);
  } else if (!CARRIED.some((type) => value instanceof type) && !ArrayBuffer.isView(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      throw new TypeError(`${path} is an instance of class ${name}, which would arrive as a plain object`);
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new TypeError(`${path} has a key named "${key}", which cannot be sent to other nodes`);
      assertSerializable((value as Record<string, unknown>)[key], `${path}.${key}`, seen);
    }
  }
}

/** Keys superjson refuses to write (a prototype-pollution guard), so no node may hold them. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
export const FORBIDDEN_TEXT = /"(__proto__|constructor|prototype)"/;

export function hasForbiddenKey(value: unknown, seen = new Set<unknown>()): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) if (hasForbiddenKey(k, seen) || hasForbiddenKey(v, seen)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const v of value) if (hasForbiddenKey(v, seen)) return true;
    return false;
  }
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key) || hasForbiddenKey((value as Record<string, unknown>)[key], seen)) return true;
  }
  return false;
}

/** Built-in classes superjson carries with their type. */
const CARRIED: ReadonlyArray<abstract new (...args: never[]) => unknown> = [Date, RegExp, Error, URL];

/** Marks a payload written as plain JSON; any other payload is superjson. */
const PLAIN = '=';

/**
 * The text of a value. Plain JSON data (the common case) takes the fast
 * path, `JSON.stringify`, about ten times cheaper than superjson; anything
 * JSON cannot carry exactly (undefined, Dates, Maps, Sets, BigInts, NaN, -0,
 * shared or cyclic references) goes through superjson. A clear TypeError for
 * what neither can carry.
 */
export function serialize(value: unknown): string {
  try {
    return isPlainJson(value) ? plainText(value) : superjson.stringify(value);
  } catch (err) {
    throw new TypeError(`value cannot be serialised: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The value of a text that came from another node or from Redis: as
 * {@link deserialize}, and a TypeError for one that carries a `__proto__`,
 * `constructor` or `prototype` key anywhere.
 */
export function deserializeForeign<T>(text: string): T {
  const value = deserialize<T>(text);
  if (FORBIDDEN_TEXT.test(text) && hasForbiddenKey(value)) throw new TypeError('the value has a __proto__, constructor or prototype key');
  return value;
}

/** The value of a {@link serialize} text; throws on text that is neither form. */
export function deserialize<T>(text: string): T {
  return text.startsWith(PLAIN) ? (JSON.parse(text.slice(PLAIN.length)) as T) : superjson.parse<T>(text);
}

/** A deep copy of `value` as every other node will see it. */
export function roundTrip<T>(value: T): T {
  return deserialize<T>(serialize(value));
}

/**
 * The texts of the values this process holds, deep-frozen, as a node
 * installed them: a held value never changes, so a write that hands one
 * back (an updater's `{ ...cur, count }`) reuses its text instead of
 * checking and serialising it again.
 */
const HELD_TEXTS = new WeakMap<object, string>();

/** Remembers `text` as the text of `value`, a value this process just deep-froze. */
export function holdText(value: unknown, text: string): void {
  if (typeof value === 'object' && value !== null) HELD_TEXTS.set(value, text);
}

/** The text of `value` when it is a value this process holds; undefined otherwise. */
export function heldText(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? HELD_TEXTS.get(value) : undefined;
}

/** The text of a value {@link isPlainJson} said JSON carries exactly. */
export function plainText(value: unknown): string {
  return PLAIN + JSON.stringify(value);
}

/**
 * Whether JSON carries `value` exactly: a tree (not a graph) of plain
 * objects, arrays, strings, booleans, null and finite numbers, without the
 * keys superjson refuses. Deep nesting is left to superjson.
 */
export function isPlainJson(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !isPlainJson(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        // superjson refuses these keys with a clear error: let it.
        if (FORBIDDEN_KEYS.has(key) || !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
