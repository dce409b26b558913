/** Methods that change a Map, Set or Date in place; a frozen one answers them with a TypeError. */
const MUTATORS: ReadonlyArray<[abstract new (...args: never[]) => object, readonly string[]]> = [
  [Map, ['set', 'delete', 'clear']],
  [Set, ['add', 'delete', 'clear']],
  [Date, Object.getOwnPropertyNames(Date.prototype).filter((m) => m.startsWith('set'))],
];

/**
 * Freezes a value and everything reachable from it, in place; returns it.
 * Object.freeze alone leaves a Map, Set or Date mutable through its methods,
 * so those get instance methods that throw.
 */
export function deepFreeze<T>(value: T, seen = new Set<unknown>()): T {
  if (typeof value !== 'object' || value === null || seen.has(value)) return value;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k, seen);
      deepFreeze(v, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) deepFreeze(v, seen);
  } else if (!ArrayBuffer.isView(value)) {
    for (const key of Reflect.ownKeys(value)) {
      deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
    }
  }
  if (ArrayBuffer.isView(value)) return value;
  for (const [type, methods] of MUTATORS) {
    if (!(value instanceof type)) continue;
    for (const m of methods) {
      Object.defineProperty(value, m, { value: readOnly(type.name, m), enumerable: false });
    }
  }
  return Object.freeze(value);
}

function readOnly(type: string, method: string): () => never {
  return () => {
    throw new TypeError(`Cannot call ${type}.prototype.${method} on frozen gossip data`);
  };
}
