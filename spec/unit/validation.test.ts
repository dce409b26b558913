import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors.js';
import { Metrics } from '../../lib/metrics.js';
import type { State } from '../../lib/model/state.js';
import { Hold } from '../../lib/node/hold.js';
import type { StandardSchemaV1 } from '../../lib/schema.js';
import { isStandardSchema, patched, SchemaGuard } from '../../lib/validation.js';

/** A hand-written Standard Schema: `{ n: number }` with n >= 0; async when asked. */
function schema(opts: { async?: boolean; throws?: boolean } = {}): StandardSchemaV1<unknown, { n: number }> & { calls: number } {
  const s = {
    calls: 0,
    '~standard': {
      version: 1 as const,
      vendor: 'test',
      validate(x: unknown): StandardSchemaV1.Result<{ n: number }> | Promise<StandardSchemaV1.Result<{ n: number }>> {
        s.calls++;
        if (opts.throws) throw new Error('boom');
        const n = (x as { n?: unknown } | null)?.n;
        const result: StandardSchemaV1.Result<{ n: number }> =
          typeof n === 'number' && n >= 0 ? { value: x as { n: number } } : { issues: [{ message: 'must be a number >= 0', path: [{ key: 'n' }] }] };
        return opts.async ? Promise.resolve(result) : result;
      },
    },
  };
  return s;
}

const state = (data: unknown, version = 2): State<unknown> => ({ cluster: 'c1', version, hash: `h${version}`, data, leader: 'a', nodes: ['a'], fanout: 2, gossipIntervalMs: 1000 });

function guard(s: StandardSchemaV1) {
  const metrics = new Metrics();
  const reported: Error[] = [];
  return { g: new SchemaGuard(s, metrics, (e) => reported.push(e)), metrics, reported };
}

describe('SchemaGuard', () => {
  it('a write that matches passes; one that does not throws a ValidationError naming the issue and its path', () => {
    const { g } = guard(schema());
    expect(g.write('the data of set()', { n: 1 })).toBeUndefined();
    expect(() => g.write('the data of set()', { n: -1 })).toThrow(new ValidationError('the data of set()', [{ message: 'must be a number >= 0', path: ['n'] }]));
    expect(() => g.write('the data of set()', { n: -1 })).toThrow('the data of set() does not match the schema: n: must be a number >= 0');
  });

  it('undefined (no data) always passes, and is never given to the schema', async () => {
    const s = schema();
    const { g } = guard(s);
    expect(g.write('x', undefined)).toBeUndefined();
    expect(g.admit(state(undefined))).toBe(true);
    await g.boot(state(undefined));
    expect(s.calls).toBe(0);
  });

  it('an async schema: a write gets a Promise that rejects with the ValidationError', async () => {
    const { g } = guard(schema({ async: true }));
    await expect(g.write('w', { n: 1 })).resolves.toBeUndefined();
    await expect(g.write('w', { n: -1 })).rejects.toThrow(ValidationError);
  });

  it('a state that does not match is refused, counted and reported once however often it comes back', () => {
    const { g, metrics, reported } = guard(schema());
    expect(g.admit(state({ n: 1 }, 2))).toBe(true);
    expect(g.admit(state({ n: -1 }, 3))).toBe(false);
    expect(g.admit(state({ n: -1 }, 3))).toBe(false);
    expect(metrics.counter('invalidStates')).toBe(1);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.message).toBe('the data of cluster c1 at version 3 does not match the schema: n: must be a number >= 0');
    expect(g.admit(state({ n: -2 }, 4))).toBe(false);
    expect(metrics.counter('invalidStates')).toBe(2);
  });

  it('an async check of a state: a Promise of the verdict, and the state it passed is admitted at once after', async () => {
    const s = schema({ async: true });
    const { g, reported } = guard(s);
    const ok = g.admit(state({ n: 1 }, 2));
    expect(ok).toBeInstanceOf(Promise);
    await expect(ok).resolves.toBe(true);
    expect(g.admit(state({ n: 1 }, 2))).toBe(true);
    expect(s.calls).toBe(1);
    await expect(g.admit(state({ n: -1 }, 3))).resolves.toBe(false);
    expect(reported).toHaveLength(1);
  });

  it('a schema that throws on a state refuses it with a ValidationError that names the cause; on a write the error goes to the caller', () => {
    const { g, reported } = guard(schema({ throws: true }));
    expect(g.admit(state({ n: 1 }))).toBe(false);
    expect(reported[0]).toBeInstanceOf(ValidationError);
    expect(reported[0]!.message).toContain('the schema threw: boom');
    expect(() => g.write('w', { n: 1 })).toThrow('boom');
  });

  it('a starting node: a state that does not match rejects', async () => {
    const { g } = guard(schema({ async: true }));
    await expect(g.boot(state({ n: -1 }))).rejects.toThrow(ValidationError);
    await expect(g.boot(state({ n: 1 }))).resolves.toBeUndefined();
  });

  it("valibot's issues, whose paths are segments, name their keys", () => {
    const { g } = guard(v.object({ list: v.array(v.object({ n: v.number() })) }));
    expect(() => g.write('w', { list: [{ n: 1 }, { n: 'x' }] })).toThrow(/^w does not match the schema: list\[1\]\.n: /);
  });
});

describe('patched', () => {
  it('the data a patch leaves: keys set, then keys removed; the data itself untouched', () => {
    const data = Object.freeze({ a: 1, b: 2 });
    expect(
      patched(
        data,
        new Map([
          ['b', 3],
          ['c', 4],
        ]),
        ['a'],
      ),
    ).toEqual({ b: 3, c: 4 });
    expect(data).toEqual({ a: 1, b: 2 });
    expect(patched(undefined, new Map([['a', 1]]), ['x'])).toEqual({ a: 1 });
  });
});

describe('isStandardSchema', () => {
  it('takes what has a version 1 ~standard with validate, and nothing else', () => {
    expect(isStandardSchema(schema())).toBe(true);
    expect(isStandardSchema(v.string())).toBe(true);
    expect(isStandardSchema({ '~standard': { version: 2, validate: () => ({ value: 1 }) } })).toBe(false);
    expect(isStandardSchema({ validate: () => true })).toBe(false);
    expect(isStandardSchema(null)).toBe(false);
  });
});

describe('Hold', () => {
  it('inputs that arrive while a check is pending wait, and are replayed in order after it', async () => {
    const hold = new Hold<number>();
    const seen: string[] = [];
    const step = (i: number) => {
      if (!hold.queued(i)) seen.push(`step ${i}`);
    };
    let pass!: (ok: boolean) => void;
    hold.until(new Promise<boolean>((r) => (pass = r)), (ok) => seen.push(`checked ${ok}`), step);
    step(1);
    step(2);
    expect(seen).toEqual([]);
    pass(true);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['checked true', 'step 1', 'step 2']);
  });

  it('a check that rejects counts as refused, and one replayed input that holds again queues the rest behind it', async () => {
    const hold = new Hold<number>();
    const seen: string[] = [];
    let second!: (ok: boolean) => void;
    const step = (i: number) => {
      if (hold.queued(i)) return;
      seen.push(`step ${i}`);
      if (i === 1) hold.until(new Promise<boolean>((r) => (second = r)), (ok) => seen.push(`second ${ok}`), step);
    };
    hold.until(Promise.reject(new Error('schema failed')), (ok) => seen.push(`first ${ok}`), step);
    step(1);
    step(2);
    step(3);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['first false', 'step 1']);
    second(true);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['first false', 'step 1', 'second true', 'step 2', 'step 3']);
  });
});
