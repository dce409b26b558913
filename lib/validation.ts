/**
 * The `schema` option at work. A write's resulting data is checked before
 * anything is sent; a state from another node or from Redis before it is
 * installed (the node keeps its data when it does not match). An async
 * schema is awaited in both: a state waits for its check, and the inputs
 * that arrive meanwhile wait behind it (lib/node/hold.ts). `undefined` (no
 * data yet) always passes. The schema is a check: what is stored is the
 * value written, never the schema's output.
 */
import { ValidationError } from './errors.js';
import type { ValidationIssue } from './errors.js';
import type { Metrics } from './metrics.js';
import { isRecord } from './model/state.js';
import type { State } from './model/state.js';
import type { StandardSchemaV1 } from './schema.js';

type Result = StandardSchemaV1.Result<unknown>;

export class SchemaGuard {
  readonly #schema: StandardSchemaV1;
  readonly #metrics: Metrics;
  readonly #report: (err: Error) => void;
  /** The last state refused: one read again at every tick is reported once. */
  #refused = '';
  /** The last state an async check passed: installed at once when it comes back after the check. */
  #passed = '';

  constructor(schema: StandardSchemaV1, metrics: Metrics, report: (err: Error) => void) {
    this.#schema = schema;
    this.#metrics = metrics;
    this.#report = report;
  }

  /** Checks the data a write leaves: throws a ValidationError, or returns a Promise of the check (an async schema). */
  write(what: string, next: unknown): void | Promise<void> {
    if (next === undefined) return;
    const result = this.#schema['~standard'].validate(next);
    if (isPromise(result)) return result.then((r) => throwIfInvalid(what, r));
    throwIfInvalid(what, result);
  }

  /** Whether a state from another node or from Redis may be installed (a Promise of it for an async schema); one that may not is counted and reported. */
  admit(state: State<unknown>): boolean | Promise<boolean> {
    const mark = markOf(state);
    if (mark === this.#passed) return true;
    const verdict = this.#check(state);
    if (!isPromise(verdict)) return this.#judged(mark, verdict);
    return verdict.then((error) => {
      if (error === undefined) this.#passed = mark;
      return this.#judged(mark, error);
    });
  }

  /** The first state a starting node takes: one that does not match stops the start. */
  async boot(state: State<unknown>): Promise<void> {
    const error = await this.#check(state);
    if (error) throw error;
  }

  #judged(mark: string, error: ValidationError | undefined): boolean {
    if (error === undefined) return true;
    if (mark !== this.#refused) {
      this.#refused = mark;
      this.#metrics.count('invalidStates');
      this.#report(error);
    }
    return false;
  }

  #check(state: State<unknown>): ValidationError | undefined | Promise<ValidationError | undefined> {
    if (state.data === undefined) return undefined;
    const what = `the data of cluster ${state.cluster} at version ${state.version}`;
    const threw = (err: unknown) => new ValidationError(what, [{ message: `the schema threw: ${(err as Error)?.message ?? String(err)}`, path: [] }], { cause: err });
    let result: Result | Promise<Result>;
    try {
      result = this.#schema['~standard'].validate(state.data);
    } catch (err) {
      return threw(err);
    }
    if (isPromise(result)) return result.then((r) => invalid(what, r), threw);
    return invalid(what, result);
  }
}

/** The config data a patch leaves (keys set, then keys removed), as a write's check sees it. */
export function patched(data: unknown, set: ReadonlyMap<string, unknown>, del: readonly string[]): Record<string, unknown> {
  const next: Record<string, unknown> = isRecord(data) ? { ...data } : {};
  for (const [k, v] of set) Object.defineProperty(next, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const k of del) delete next[k];
  return next;
}

/** Whether `schema` looks like a Standard Schema v1 (checked at start, with a clear error). */
export function isStandardSchema(schema: unknown): schema is StandardSchemaV1 {
  if ((typeof schema !== 'object' && typeof schema !== 'function') || schema === null) return false;
  const props = (schema as Partial<StandardSchemaV1>)['~standard'];
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function';
}

const markOf = (s: State<unknown>): string => `${s.cluster}/${s.version}/${s.hash}`;

function invalid(what: string, result: Result): ValidationError | undefined {
  return result.issues ? new ValidationError(what, result.issues.map(toIssue)) : undefined;
}

function throwIfInvalid(what: string, result: Result): void {
  const error = invalid(what, result);
  if (error) throw error;
}

function toIssue(issue: StandardSchemaV1.Issue): ValidationIssue {
  const path = (issue.path ?? []).map((seg) => (typeof seg === 'object' && seg !== null ? seg.key : seg));
  return { message: String(issue.message), path };
}

function isPromise<R>(x: R | Promise<R>): x is Promise<R> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}
