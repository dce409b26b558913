import { CliError, EXIT } from './exit.js';
import { println, toJson } from './output.js';
import type { Session } from './session.js';

/**
 * `get [key]`: the main cluster's data, read from Redis, as JSON; with a key,
 * that key of the data seen as an object of keys (`null` when it is missing).
 */
export async function get(s: Session, key: string | undefined): Promise<number> {
  const rumor = await s.rumor();
  s.done();
  if (key === undefined) {
    println(s.options.json ? toJson({ version: rumor.version, data: rumor.data }) : toJson(rumor.data, 2));
    return EXIT.ok;
  }
  const found = lookup(rumor.data, key);
  println(s.options.json ? toJson({ version: rumor.version, key, found: found.found, value: found.value ?? null }) : toJson(found.value, 2));
  return EXIT.ok;
}

/** Like `node.getCfg(key)`: a plain object's own key or a Map's entry. */
function lookup(data: unknown, key: string): { found: boolean; value: unknown } {
  if (data === undefined) return { found: false, value: undefined };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    const kind = data === null ? 'null' : Array.isArray(data) ? 'an array' : `a ${typeof data}`;
    throw new CliError(EXIT.usage, `the data is ${kind}, not an object of keys: run "get" without a key`);
  }
  if (data instanceof Map) return { found: data.has(key), value: data.get(key) };
  return Object.hasOwn(data, key) ? { found: true, value: (data as Record<string, unknown>)[key] } : { found: false, value: undefined };
}
