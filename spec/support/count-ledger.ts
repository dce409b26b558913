/**
 * The ledger of an exactly-once test: every counting call (node-extras.ts
 * `count`: `{n: n + 1, tags: [...tags, tag]}`) with its tag and its outcome,
 * checked against the data the cluster ends with.
 */
import type { ChildNode } from './child.js';
import type { CountOptions, Counted } from './node-extras.js';

export interface CountOutcome {
  readonly tag: string;
  readonly node: string;
  /** Resolved (acknowledged), or rejected with this code. */
  readonly ok: boolean;
  readonly code?: string;
}

/** What the final data says about the ledger; every list is empty when each call was applied exactly once. */
export interface CountAudit {
  readonly resolved: number;
  readonly rejected: number;
  readonly n: number;
  /** Tags of resolved calls missing from the data. */
  readonly lost: string[];
  /** Tags that appear more than once. */
  readonly twice: string[];
  /** Tags of rejected calls that the data holds: a rejection that was an applied write. */
  readonly rejectedButApplied: string[];
  /** Tags in the data that no call of the ledger made. */
  readonly unknown: string[];
  /** n minus the number of tags (a counter and its log that disagree). */
  readonly nMinusTags: number;
  /** n minus (resolved + rejected-but-applied). */
  readonly nMinusCalls: number;
}

export class CountLedger {
  readonly outcomes: CountOutcome[] = [];
  readonly #pending = new Set<Promise<unknown>>();
  #seq = 0;

  /** Calls `count` on `child` with a fresh tag; never rejects (the outcome goes into the ledger). */
  call(child: ChildNode, options: CountOptions = {}, label = child.id): Promise<CountOutcome> {
    const tag = `${label}-${++this.#seq}`;
    const p = child
      .call<number>('count', tag, options)
      .then(
        () => ({ tag, node: child.id, ok: true }),
        (err: unknown) => ({ tag, node: child.id, ok: false, code: codeOf(err) }),
      )
      .then((o: CountOutcome) => {
        this.outcomes.push(o);
        this.#pending.delete(p);
        return o;
      });
    this.#pending.add(p);
    return p;
  }

  /** Calls made so far that have no outcome yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  get calls(): number {
    return this.#seq;
  }

  /** Waits for every call made so far. */
  async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  failureCodes(): Record<string, number> {
    const codes: Record<string, number> = {};
    for (const o of this.outcomes) if (!o.ok) codes[o.code!] = (codes[o.code!] ?? 0) + 1;
    return codes;
  }

  audit(data: Partial<Counted> | undefined): CountAudit {
    const tags = data?.tags ?? [];
    const n = data?.n ?? 0;
    const times = new Map<string, number>();
    for (const t of tags) times.set(t, (times.get(t) ?? 0) + 1);
    const resolved = this.outcomes.filter((o) => o.ok);
    const rejected = this.outcomes.filter((o) => !o.ok);
    const known = new Set(this.outcomes.map((o) => o.tag));
    const rejectedButApplied = rejected.filter((o) => times.has(o.tag)).map((o) => o.tag);
    return {
      resolved: resolved.length,
      rejected: rejected.length,
      n,
      lost: resolved.filter((o) => !times.has(o.tag)).map((o) => o.tag),
      twice: [...times].filter(([, k]) => k > 1).map(([t]) => t),
      rejectedButApplied,
      unknown: [...times.keys()].filter((t) => !known.has(t)),
      nMinusTags: n - tags.length,
      nMinusCalls: n - (resolved.length + rejectedButApplied.length),
    };
  }
}

/** A rejection's `code` (the library's errors have one), else 'error'. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'error';
}
