/**
 * Prints the tables of a results file again (default: bench/results/latest.json).
 *   npx tsx bench/report.ts [results.json]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Results } from './results.js';
import { renderTables } from './table.js';

const file = process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
console.log(renderTables(JSON.parse(readFileSync(file, 'utf8')) as Results));
