import { readFileSync } from 'node:fs';
import type { Commands } from '../transport/connection.js';

/**
 * The Lua scripts, one file each, named with their key count as BullMQ
 * does (`commit-2.lua`: two keys). ioredis loads each once (EVALSHA) and
 * sends it again after a NOSCRIPT (a restarted or failed-over Redis).
 */
const FILES = {
  commit: 'commit-2',
  meta: 'meta-3',
  merge: 'merge-3',
  put: 'put-4',
  tick: 'tick-4',
  nodeKey: 'node-key-1',
} as const;

export type ScriptName = keyof typeof FILES;
export type Arg = string | number;
/** A script's reply: Redis integers as numbers, strings as strings. */
export type Reply = ReadonlyArray<string | number>;

const SOURCES = Object.fromEntries(Object.entries(FILES).map(([name, file]) => [name, readFileSync(new URL(`./${file}.lua`, import.meta.url), 'utf8')])) as Record<ScriptName, string>;

type Runner = (...args: Arg[]) => Promise<Reply>;

/** The scripts, defined on one client. */
export class Scripts {
  readonly #client: Commands;

  constructor(client: Commands) {
    this.#client = client;
    for (const [name, file] of Object.entries(FILES) as Array<[ScriptName, string]>) {
      client.defineCommand(commandOf(name), { numberOfKeys: Number(file.slice(file.lastIndexOf('-') + 1)), lua: SOURCES[name] });
    }
  }

  run(name: ScriptName, keys: readonly string[], args: readonly Arg[]): Promise<Reply> {
    const runner = (this.#client as unknown as Record<string, Runner>)[commandOf(name)]!;
    return runner.call(this.#client, ...keys, ...args);
  }

  /**
   * Runs a script and then `WAIT replicas timeoutMs`, pipelined (one round
   * trip): the reply, and how many replicas had the script's writes when
   * WAIT answered.
   */
  async runAndWait(name: ScriptName, keys: readonly string[], args: readonly Arg[], replicas: number, timeoutMs: number): Promise<{ reply: Reply; replicas: number }> {
    const pipeline = this.#client.pipeline();
    (pipeline as unknown as Record<string, (...a: Arg[]) => unknown>)[commandOf(name)]!.call(pipeline, ...keys, ...args);
    pipeline.call('WAIT', replicas, timeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const [scriptErr, reply] = results[0] ?? [new Error('no reply')];
    if (scriptErr) throw scriptErr;
    const [, acked] = results[1] ?? [];
    return { reply: reply as Reply, replicas: Number(acked ?? 0) };
  }
}

const commandOf = (name: ScriptName): string => `simpleGossip_${name}`;
