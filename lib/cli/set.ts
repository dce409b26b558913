import type { ObserverWrite, Rumor } from '../index.js';
import { EXIT, asCliError } from './exit.js';
import { parseJsonArg, readStdin } from './options.js';
import { println, toJson } from './output.js';
import type { Session } from './session.js';

export type WriteOp = ObserverWrite;

/** `set <json>` (`-`: read it from stdin): the write to send, checked before anything connects. */
export async function setOp(json: string): Promise<WriteOp> {
  return { kind: 'set', data: parseJsonArg('the data', json === '-' ? await readStdin() : json) };
}

/** `set-cfg <key> <json>`: sets one key of the data (which must be an object of keys, or nothing yet). */
export function setCfgOp(key: string, json: string): WriteOp {
  return { kind: 'cfg', key, value: parseJsonArg('the value', json) };
}

/** `delete-cfg <key>`: removes one key of the data (nothing to do when it is not there). */
export function deleteCfgOp(key: string): WriteOp {
  return { kind: 'delete', key };
}

/**
 * Commits a write with the script a member uses (no leader in the way; every
 * member is told); prints the version that holds it. First checks that a
 * member answers this CLI: one that lacks the cluster's secret would commit
 * values the members refuse.
 */
export async function write(s: Session, op: WriteOp): Promise<number> {
  await s.answering();
  s.progress('committing the write');
  let rumor: Rumor;
  try {
    rumor = await s.observer.write(op);
  } catch (err) {
    throw asCliError(err, EXIT.writeFailed, 'write failed: ');
  }
  s.done();
  println(s.options.json ? toJson({ ok: true, version: rumor.version }) : `version ${rumor.version}`);
  return EXIT.ok;
}
