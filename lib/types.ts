/**
 * The types a typed node (`Gossip.start<T>()`) gives its reads and writes:
 * what `get()` returns (deep-readonly: the data is deep-frozen), and the
 * keys and values of config mode. Without a `T` (it is `unknown`), a config
 * takes any string key and holds unknown values.
 */

/** `true` for `any`, else `false`. */
type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * `T` with every property, element and entry readonly, all the way down:
 * what `get()`, `getCfg()` and the events hand out (the data is deep-frozen,
 * so writing into it throws). Writes accept it too, so a value read can be
 * written back as it is.
 */
export type DeepReadonly<T> =
  IsAny<T> extends true
    ? T
    : T extends (...args: never[]) => unknown
      ? T
      : T extends ReadonlyMap<infer K, infer V>
        ? ReadonlyMap<DeepReadonly<K>, DeepReadonly<V>>
        : T extends ReadonlySet<infer V>
          ? ReadonlySet<DeepReadonly<V>>
          : T extends readonly []
            ? readonly []
            : T extends readonly [unknown, ...unknown[]]
              ? { readonly [P in keyof T]: DeepReadonly<T[P]> }
              : // An array through ReadonlyArray, an object through an alias of its own: both defer, so recursive types (JSON) resolve.
                T extends ReadonlyArray<infer E>
                ? ReadonlyArray<DeepReadonly<E>>
                : T extends object
                  ? DeepReadonlyObject<T>
                  : T;

type DeepReadonlyObject<T extends object> = { readonly [P in keyof T]: DeepReadonly<T[P]> };

/** Whether `T` is an untyped config (`unknown`, or `any`). */
type Untyped<T> = unknown extends T ? true : false;

/** The keys of a config of type `T`: its string keys (a Map's keys), or any string when `T` is not given. */
export type CfgKey<T> = Untyped<T> extends true ? string : KeysOf<T>;

/** The value under `K` of a config of type `T` (unknown when `T` is not given). */
export type CfgValue<T, K extends string> = Untyped<T> extends true ? unknown : ValueOf<T, K>;

/** The keys of `T` that may be absent: those `deleteCfg` may remove (any key of an untyped config). */
export type OptionalCfgKey<T> = Untyped<T> extends true ? string : OptionalKeysOf<T>;

// Each distributes over a union: of `Json | undefined`, the keys are the object member's.
type KeysOf<T> = T extends ReadonlyMap<infer K, unknown> ? K & string : T extends readonly unknown[] ? never : T extends object ? keyof T & string : never;
type ValueOf<T, K extends string> = T extends ReadonlyMap<unknown, infer V> ? V : T extends readonly unknown[] ? never : T extends object ? (K extends keyof T ? T[K] : never) : never;
type OptionalKeysOf<T> =
  T extends ReadonlyMap<infer K, unknown>
    ? K & string
    : T extends readonly unknown[]
      ? never
      : T extends object
        ? // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "{} has no keys": a key is optional when {} fits its Pick
          { [K in keyof T & string]-?: {} extends Pick<T, K> ? K : never }[keyof T & string]
        : never;

/** Several config keys for `patchCfg`: each one's value, or `undefined` to remove it. */
export type CfgPatch<T> = { readonly [K in CfgKey<T>]?: DeepReadonly<CfgValue<T, K>> | undefined };

/** What `onKey(key, fn)` calls `fn` with: the new value (undefined once removed) and the version that holds it. */
export type KeyHandler<V> = (value: DeepReadonly<V> | undefined, info: { readonly version: number }) => void;

/** What an updater returns: the next value, or that nothing changes. */
export type UpdateResult<T> =
  | {
      /** The next value (a deep-readonly one too: a value read can be written back). */
      readonly change: DeepReadonly<T>;
    }
  | 'no_change';

/**
 * Computes the next value from the current one (deep-frozen; `undefined`
 * before the first write). It may run more than once (when another write
 * got in first), so it must be pure.
 */
export type Updater<T> = (current: DeepReadonly<T> | undefined) => UpdateResult<T>;
