/**
 * What a TypeScript user's code may and may not do with a typed node. Never
 * run: spec/integration/types.test.ts compiles it with tsc (strict; once with
 * module nodenext, once with moduleResolution bundler). Every
 * `@ts-expect-error` is a mistake the types must catch (tsc fails on one that
 * catches nothing), every other line must compile; the test also compiles it
 * without the directives and expects an error on each of those lines.
 */
import * as v from 'valibot';
import { z } from 'zod';
import { Gossip, ValidationError } from 'simple-gossip';
import type { DeepReadonly, GossipOptions, StandardSchemaV1, UpdateResult } from 'simple-gossip';

/** True only when A and B are the same type. */
type Equal<A, B> = (<G>() => G extends A ? 1 : 2) extends <G>() => G extends B ? 1 : 2 ? true : false;
function same<A, B>(check: Equal<A, B>): void {
  void check;
}

type Flags = { darkMode: boolean; limit: number; beta?: boolean; tags: string[]; owner: { name: string } };

export async function typedConfig(): Promise<void> {
  const node = await Gossip.start<Flags>({ namespace: 'types' });

  // getCfg: keys of T; a default makes the result defined, and must be of the key's type.
  const limit: number = node.getCfg('limit', -1);
  same<typeof limit, number>(true);
  const maybe = node.getCfg('limit');
  same<typeof maybe, number | undefined>(true);
  const beta: boolean = node.getCfg('beta', false);
  const tags: readonly string[] = node.getCfg('tags', []);
  void [maybe, beta, tags];
  // @ts-expect-error: without a default the value may be missing
  const notDefined: number = node.getCfg('limit');
  // @ts-expect-error: a key that is not in T
  node.getCfg('limt', 0);
  // @ts-expect-error: a default of another type than the key's
  node.getCfg('limit', 'many');
  // @ts-expect-error: a config value read is deep-readonly
  node.getCfg('tags', []).push('x');

  // setCfg / setCfgSync: keys of T, values of their type.
  await node.setCfg('limit', 5);
  await node.setCfg('tags', ['a', 'b']);
  await node.setCfgSync('owner', { name: 'ops' }, { timeoutMs: 1_000 });
  // @ts-expect-error: a value of the wrong type
  await node.setCfg('limit', 'many');
  // @ts-expect-error: a key that is not in T
  await node.setCfg('limt', 5);
  // @ts-expect-error: a nested value of the wrong shape
  await node.setCfg('owner', { nome: 'ops' });

  // deleteCfg: only a key T allows to be missing.
  await node.deleteCfg('beta');
  await node.deleteCfgSync('beta', { wait: 'majority' });
  // @ts-expect-error: limit is required in T
  await node.deleteCfg('limit');
  // @ts-expect-error: a key that is not in T
  await node.deleteCfg('bta');

  // patchCfg: some keys of T, undefined removes.
  await node.patchCfg({ limit: 10, beta: undefined });
  // @ts-expect-error: a value of the wrong type
  await node.patchCfg({ limit: '10' });
  // @ts-expect-error: a key that is not in T
  await node.patchCfg({ limt: 10 });

  // get(): deep-readonly T.
  const data = node.get();
  same<typeof data, DeepReadonly<Flags> | undefined>(true);
  if (data) {
    const n: number = data.limit;
    const first: string | undefined = data.tags[0];
    void [n, first];
    // @ts-expect-error: get() is readonly (the data is frozen)
    data.limit = 5;
    // @ts-expect-error: and deep-readonly
    data.tags.push('x');
    // @ts-expect-error: all the way down
    data.owner.name = 'me';
  }
  // @ts-expect-error: get() is undefined before the first write
  node.get().limit;

  // set / setSync: a value of T (a value read may be written back), or an updater.
  await node.set({ darkMode: true, limit: 1, tags: [], owner: { name: 'ops' } });
  await node.set(undefined);
  await node.set(node.get());
  await node.setSync({ darkMode: false, limit: 2, tags: ['x'], owner: { name: 'ops' } }, { timeoutMs: 500 });
  // @ts-expect-error: a value of the wrong shape
  await node.set({ darkMode: 'yes', limit: 1, tags: [], owner: { name: 'ops' } });
  // @ts-expect-error: a key T does not have
  await node.set({ darkMod: true, limit: 1, tags: [], owner: { name: 'ops' } });

  // Updaters: cur is DeepReadonly<T> | undefined, the result a T.
  await node.set((cur) => (cur ? { change: { ...cur, limit: cur.limit + 1 } } : 'no_change'));
  await node.setSync((cur) => ({ change: { darkMode: !cur?.darkMode, limit: cur?.limit ?? 0, tags: [...(cur?.tags ?? []), 'x'], owner: { name: 'ops' } } }));
  await node.set((cur) => {
    same<typeof cur, DeepReadonly<Flags> | undefined>(true);
    return 'no_change';
  });
  // @ts-expect-error: cur is undefined before the first write
  await node.set((cur) => ({ change: { ...cur, limit: cur.limit + 1 } }));
  // @ts-expect-error: the updater must return a whole T
  await node.set((cur) => ({ change: { limit: (cur?.limit ?? 0) + 1 } }));
  // @ts-expect-error: a change of the wrong type
  await node.set((cur) => (cur ? { change: { ...cur, limit: String(cur.limit) } } : 'no_change'));
  await node.set((cur) => {
    // @ts-expect-error: cur is frozen
    if (cur) cur.limit = 1;
    return 'no_change';
  });
  // @ts-expect-error: an updater returns { change } or 'no_change'
  await node.set(() => 'nothing');
  const result: UpdateResult<Flags> = 'no_change';
  void result;

  // onKey: the key's value (undefined once removed), typed.
  const off = node.onKey('limit', (value, { version }) => {
    same<typeof value, number | undefined>(true);
    void version;
  });
  off();
  node.onKey('tags', (value) => {
    // @ts-expect-error: deep-readonly
    value?.push('x');
  });
  // @ts-expect-error: a key that is not in T
  node.onKey('limt', () => undefined);
  // @ts-expect-error: a handler for another value type
  node.onKey('limit', (value: string) => void value);

  // Events: the data deep-readonly.
  node.subscribe(({ data: d, version }) => {
    const l: number | undefined = d?.limit;
    void [l, version];
    // @ts-expect-error: event data is readonly
    if (d) d.limit = 1;
  });
  node.subscribe((rumor) => {
    // @ts-expect-error: the rumor's data is readonly too
    if (rumor.data) rumor.data.tags.push('x');
  }, 'rumor');
  node.on('error', (err) => {
    if (err instanceof ValidationError) {
      const code: string = err.code;
      void [code, err.issues[0]?.path];
    }
  });

  await node.stop();
}

export async function untypedConfig(): Promise<void> {
  // No <T>: any string key, unknown values; nothing is implicitly any.
  const node = await Gossip.start({ namespace: 'untyped' });
  const value = node.getCfg('anything');
  same<typeof value, unknown>(true);
  const withDefault = node.getCfg('limit', 10);
  same<typeof withDefault, unknown>(true);
  await node.setCfg('anything', { nested: [1, 2] });
  await node.deleteCfg('anything');
  await node.patchCfg({ a: 1, b: undefined });
  await node.set({ any: 'value' });
  await node.set((cur) => {
    same<typeof cur, unknown>(true);
    return { change: { wrapped: cur } };
  });
  // @ts-expect-error: cur is unknown, not any
  await node.set((cur) => ({ change: cur.count + 1 }));
  // @ts-expect-error: an unknown value is not a number
  const n: number = node.getCfg('limit', 10);
  node.onKey('anything', (v2, { version }) => void [v2, version]);
  node.subscribe(({ data }) => void data);
  await node.stop();
}

export async function inferredFromSchema(): Promise<void> {
  const Zod = z.object({ darkMode: z.boolean(), limit: z.number().int().min(1), beta: z.boolean().optional() });
  const zn = await Gossip.start({ namespace: 'zod', schema: Zod });
  same<typeof zn, Gossip<{ darkMode: boolean; limit: number; beta?: boolean | undefined }>>(true);
  const limit: number = zn.getCfg('limit', 1);
  await zn.deleteCfg('beta');
  void limit;
  // @ts-expect-error: T comes from the schema
  await zn.setCfg('limit', 'many');
  // @ts-expect-error: a key the schema does not have
  zn.getCfg('owner');

  const Valibot = v.object({ mode: v.picklist(['dark', 'light']), size: v.number() });
  const vn = await Gossip.start({ namespace: 'valibot', schema: Valibot });
  same<ReturnType<typeof vn.get>, DeepReadonly<{ mode: 'dark' | 'light'; size: number }> | undefined>(true);
  await vn.setCfg('mode', 'light');
  // @ts-expect-error: not one of the schema's values
  await vn.setCfg('mode', 'blue');

  // A T given and a schema: they must agree.
  await Gossip.start<{ limit: number }>({ schema: z.object({ limit: z.number() }) });
  // @ts-expect-error: the schema's output is not T
  await Gossip.start<{ limit: number }>({ schema: z.object({ limit: z.string() }) });
  // @ts-expect-error: not a Standard Schema
  await Gossip.start({ schema: { validate: (x: unknown) => x } });

  // A hand-written Standard Schema v1.
  const hand: StandardSchemaV1<unknown, { n: number }> = {
    '~standard': {
      version: 1,
      vendor: 'hand',
      validate: (x) =>
        typeof x === 'object' && x !== null && typeof (x as { n?: unknown }).n === 'number' ? { value: x as { n: number } } : { issues: [{ message: 'n must be a number', path: ['n'] }] },
    },
  };
  const hn = await Gossip.start({ schema: hand });
  const hv: number = hn.getCfg('n', 0);
  void hv;
}

export async function sharedOptions(options: GossipOptions): Promise<void> {
  // Options written without a type fit a node of any type.
  const node = await Gossip.start<Flags>(options);
  const flags: readonly string[] | undefined = node.get()?.tags;
  void flags;
}
