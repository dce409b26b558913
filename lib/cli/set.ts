import type { Rumor } from '../index.js';
import { EXIT, asCliError } from './exit.js';
import { parseJsonArg, readStdin } from './options.js';
import { println, toJson } from './output.js';
import type { Session } from './session.js';

export type WriteOp = { readonly kind: 'set'; readonly data: unknown } | { readonly kind: 'cfg'; readonly key: string; readonly value: unknown };

/** `set <json>` (`-`: read it from stdin): the write to send, checked before anything connects. */
export async function setOp(json: string): Promise<WriteOp> {
  return { kind: 'set', data: parseJsonArg('the data', json === '-' ? await readStdin() : json) };
}

/** `set-cfg <key> <json>`: sets one key of the data (which must be an object of keys, or nothing yet). */
export function setCfgOp(key: string, json: string): WriteOp {
  return { kind: 'cfg', key, value: parseJsonArg('the value', json) };
}

/** Sends a write through the leader, like any node's; prints the version that holds it. */
export async function write(s: Session, op: WriteOp): Promise<number> {
  await s.live();
  s.progress('writing through the leader');
  let rumor: Rumor;
  try {
    rumor = await s.observer.write(op);
  } catch (err) {
    throw asCliError(err, EXIT.writeFailed, 'write failed: ');
  }
  s.done();
  println(s.options.json ? toJson({ ok: true, version: rumor.version, leader: rumor.leader }) : `version ${rumor.version} (leader ${rumor.leader})`);
  return EXIT.ok;
}
