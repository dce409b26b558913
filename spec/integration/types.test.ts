import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The types as a user's TypeScript sees them: tsc (strict) over
 * spec/types/consumer.ts — whose `@ts-expect-error` lines are the mistakes
 * the types must catch — and over the README's examples, copied into
 * spec/types/readme-*.ts; once with module nodenext, once with
 * moduleResolution bundler.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = join(ROOT, 'spec', 'types');
const DIRECTIVE = /^(\s*)\/\/ @ts-expect-error\b.*$/;

interface Tsc {
  readonly code: number;
  readonly output: string;
}

function tsc(project: string): Promise<Tsc> {
  return new Promise((resolve, reject) => {
    execFile('npx', ['--no-install', 'tsc', '-p', project], { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(Object.assign(new Error(err.message), { cause: err }));
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('the types, compiled by tsc in strict mode', () => {
  it.each(['nodenext', 'bundler'])('the consumer file and the README examples compile with %s resolution, each @ts-expect-error catching its mistake', async (mode) => {
    const { code, output } = await tsc(join(TYPES, `tsconfig.${mode}.json`));
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('without its @ts-expect-error lines the consumer file fails, with an error on exactly the line after each of them', async () => {
    const source = await readFile(join(TYPES, 'consumer.ts'), 'utf8');
    const lines = source.split('\n');
    const expected = lines.flatMap((line, i) => (DIRECTIVE.test(line) ? [i + 2] : []));
    expect(expected.length).toBeGreaterThan(30);
    const tag = randomBytes(4).toString('hex');
    const file = `.unchecked-${tag}.ts`;
    const project = join(TYPES, `.tsconfig-unchecked-${tag}.json`);
    try {
      // Each directive becomes an empty comment: the line numbers stay.
      await writeFile(join(TYPES, file), lines.map((line) => line.replace(DIRECTIVE, '$1//')).join('\n'));
      await writeFile(project, JSON.stringify({ extends: './tsconfig.nodenext.json', files: [file] }));
      const { code, output } = await tsc(project);
      expect(code).not.toBe(0);
      const errorLines = [...output.matchAll(/^(.+?)\((\d+),\d+\): error TS\d+/gm)].map((m) => ({ file: m[1]!, line: Number(m[2]) }));
      // Only in the consumer file (the library itself compiles), and on each checked line, none other.
      expect(errorLines.filter((e) => !e.file.endsWith(file))).toEqual([]);
      expect([...new Set(errorLines.map((e) => e.line))].sort((x, y) => x - y)).toEqual(expected);
    } finally {
      await rm(join(TYPES, file), { force: true });
      await rm(project, { force: true });
    }
  });

  it("the README's Quick start and API examples are the ones compiled, as the README writes them", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('## Quick start');
    const end = readme.indexOf('## A cluster that manages itself');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const blocks = [...readme.slice(start, end).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(9);
    const copies = await Promise.all(['readme-quickstart.ts', 'readme-schema.ts', 'readme-api.ts', 'readme-observer.ts'].map((f) => readFile(join(TYPES, f), 'utf8')));
    const missing = blocks.filter((block) => !copies.some((copy) => copy.includes(block)));
    expect(missing).toEqual([]);
  });
});
