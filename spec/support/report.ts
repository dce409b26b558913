import { appendFileSync } from 'node:fs';

/**
 * Prints what a fault test measured, one line; with SG_FAULT_REPORT set to a
 * path, also appends it there as JSON, so repeated runs can be summed up.
 */
export function reportFault(scenario: string, numbers: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, ...numbers });
  console.info(`[fault] ${line}`);
  const path = process.env.SG_FAULT_REPORT;
  if (path) appendFileSync(path, `${line}\n`);
}
