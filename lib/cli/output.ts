/** What the CLI prints: JSON that never throws, aligned tables, URLs without passwords. */

/** JSON for any value that can travel in a rumor (superjson types included), on one line unless `indent`. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value ?? null, replacer, indent) ?? 'null';
}

function replacer(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), x]));
  if (v instanceof Set) return [...v];
  if (v instanceof RegExp) return String(v);
  if (v instanceof Error) return { name: v.name, message: v.message };
  return v;
}

/** Rows under a header, columns padded to their widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The URL with its password masked, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString();
  } catch {
    // Not a URL: nothing to mask.
    return url;
  }
}

/** Writes one line to stdout. */
export function println(text: string): void {
  process.stdout.write(`${text}\n`);
}
