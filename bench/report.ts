/**
 * Prints the tables of a results file again (default: bench/results/latest.json).
 *   npx tsx bench/report.ts [results.json]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Results } from './results.js';
import { renderTables } from './table.js';

const file = process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
// Files from before v2's bench (bench/results/2026-11-25-*) lack what it added.
r.loneAfterBurst ??= [];
for (const c of r.convergence) (c as { from?: string }).from ??= c.impl === 'naive' ? 'any' : 'non-leader';
console.log(renderTables(r));
