/**
 * Convergence checks for child nodes that hold big data: each child answers
 * a digest (node-extras.ts: long strings cut to "<length>|<first chars>"),
 * so megabytes never cross the children's stdout.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ChildNode } from './child.js';
import { eventually } from './cluster.js';
import type { Digest } from './node-extras.js';

export function digestOf(child: ChildNode): Promise<Digest> {
  return child.call<Digest>('digest');
}

/** Waits until every child holds the same cluster, version, members and (digested) data, and `accept` says yes to it. */
export async function digestsAgree(children: readonly ChildNode[], timeoutMs: number, accept: (d: Digest) => boolean = () => true): Promise<Digest> {
  let last: Digest[] = [];
  await eventually(
    async () => {
      last = await Promise.all(children.map(digestOf));
      const [first, ...rest] = last as [Digest, ...Digest[]];
      return (
        accept(first) &&
        rest.every((d) => d.cluster === first.cluster && d.version === first.version && isDeepStrictEqual([...d.nodes].sort(), [...first.nodes].sort()) && isDeepStrictEqual(d.data, first.data))
      );
    },
    timeoutMs,
    'every child to hold the same digest',
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; last digests: ${JSON.stringify(last)}`);
  });
  return last[0]!;
}

/** The 'error' events a child reports once `watchErrors` is on, by code, and any unhandled rejection. */
export class ErrorWatch {
  readonly codes = new Map<string, number>();
  readonly messages: string[] = [];
  readonly unhandled: string[] = [];

  private constructor(readonly child: ChildNode) {}

  static async on(child: ChildNode): Promise<ErrorWatch> {
    const w = new ErrorWatch(child);
    child.onEvent((line) => {
      if (line.event === 'error') {
        const code = String(line.code);
        w.codes.set(code, (w.codes.get(code) ?? 0) + 1);
        if (w.messages.length < 50) w.messages.push(`${code}: ${String(line.message)}`);
      } else if (line.event === 'unhandledRejection') {
        w.unhandled.push(String(line.message));
      }
    });
    await child.call('watchErrors');
    return w;
  }

  count(code: string): number {
    return this.codes.get(code) ?? 0;
  }
}
