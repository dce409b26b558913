/**
 * The tour's handle on one node process: a child it spawned itself
 * ({@link LocalMember}), or a node container driven over Redis
 * ({@link RemoteMember}). Both speak the lines of demo/protocol.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Redis } from 'ioredis';
import { spawnNode } from './node.js';
import { clock, controlChannel } from './protocol.js';
import type { Command, Control, HttpAnswer, Line, NodeSpec, Output } from './protocol.js';

export type ReadyLine = Extract<Line, { event: 'ready' }>;
export type Exit = Extract<Output, { exit: unknown }>['exit'];
type Call = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

const CALL_TIMEOUT_MS = 10_000;
const FETCH_TIMEOUT_MS = 2_000;

interface Waiter<V> {
  resolve(value: V): void;
  reject(err: Error): void;
}

export abstract class Member {
  #seq = 0;
  readonly #pending = new Map<number, Waiter<unknown>>();
  #ready: Waiter<ReadyLine> | undefined;
  readonly #exits = new Set<(exit: Exit) => void>();
  #url: string | undefined;

  constructor(readonly id: string) {}

  /** Where its application (demo/app.ts) listens, while it runs: on the loopback of its own host. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Starts the node (or finds it running) and resolves with its 'ready' line. */
  start(timeoutMs: number): Promise<ReadyLine> {
    return withTimeout(
      new Promise<ReadyLine>((resolve, reject) => {
        this.#ready = { resolve, reject };
        this.open();
      }),
      timeoutMs,
      `${this.id} did not start`,
    );
  }

  call<V>(command: Call): Promise<V> {
    const id = ++this.#seq;
    const answer = new Promise<V>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.send({ ...command, id });
    });
    return withTimeout(answer, CALL_TIMEOUT_MS, `${this.id} did not answer ${command.cmd}`).finally(() => this.#pending.delete(id));
  }

  /** SIGKILL: no hand-over, no last snapshot, nothing. */
  kill(timeoutMs = 5_000): Promise<Exit> {
    const exited = this.#nextExit(timeoutMs);
    this.signalKill();
    return exited;
  }

  /** A clean stop: the node hands leadership over, flushes its snapshot, and its process exits. */
  stop(timeoutMs = 5_000): Promise<Exit> {
    const exited = this.#nextExit(timeoutMs);
    // Its exit may overtake its reply: the exit is the answer that counts.
    this.call({ cmd: 'stop' }).catch(() => undefined);
    return exited;
  }

  protected receive(line: Line): void {
    if ('reply' in line) {
      const p = this.#pending.get(line.reply);
      if (!p) return;
      if (line.ok) p.resolve(line.value);
      else p.reject(new Error(`${this.id}: ${line.message}`));
    } else if (line.event === 'ready') {
      this.#url = line.url;
      this.#ready?.resolve(line);
      this.#ready = undefined;
    } else if (line.event === 'failed') {
      this.#ready?.reject(new Error(`${this.id} could not start: ${line.message}`));
      this.#ready = undefined;
    }
  }

  protected exited(exit: Exit): void {
    const why = new Error(`${this.id} exited (${exit.signal ?? exit.code})`);
    this.#url = undefined;
    for (const p of this.#pending.values()) p.reject(why);
    this.#pending.clear();
    this.#ready?.reject(why);
    this.#ready = undefined;
    for (const f of this.#exits) f(exit);
    this.#exits.clear();
  }

  #nextExit(timeoutMs: number): Promise<Exit> {
    return withTimeout(new Promise<Exit>((resolve) => this.#exits.add(resolve)), timeoutMs, `${this.id} did not exit`);
  }

  /** Spawns the node, or asks its supervisor to. */
  protected abstract open(): void;
  protected abstract send(command: Command): void;
  protected abstract signalKill(): void;
  /** One `GET /` of its application, stamped with {@link clock} when the answer arrived. */
  abstract answer(): Promise<HttpAnswer>;
  /** Kills whatever is still running, at once: for the way out after a failure. */
  abstract abandon(): void;
}

/** A node process this tour spawned. */
export class LocalMember extends Member {
  #proc: ChildProcess | undefined;
  #stderr = '';

  constructor(private readonly spec: NodeSpec) {
    super(spec.nodeId);
  }

  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** The tail of what the process wrote to stderr, for error messages. */
  get stderr(): string {
    return this.#stderr;
  }

  protected open(): void {
    const proc = spawnNode(this.spec, 'pipe');
    this.#proc = proc;
    this.#stderr = '';
    proc.stdin!.on('error', () => undefined); // it may die before it reads
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr = (this.#stderr + chunk).slice(-4_000)));
    createInterface({ input: proc.stdout!, crlfDelay: Infinity }).on('line', (raw) => {
      const line = parse<Line>(raw);
      if (line) this.receive(line);
    });
    proc.once('exit', (code, signal) => {
      if (this.#proc === proc) this.#proc = undefined;
      this.exited({ code, signal });
    });
  }

  protected send(command: Command): void {
    this.#proc?.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  protected signalKill(): void {
    this.#proc?.kill('SIGKILL');
  }

  /** Fetched from here: the node runs on this host. */
  async answer(): Promise<HttpAnswer> {
    if (!this.url) throw new Error(`${this.id} is not running`);
    const res = await fetch(this.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    return { status: res.status, body: await res.text(), at: clock() };
  }

  abandon(): void {
    this.#proc?.kill('SIGKILL');
  }
}

/** A node in a container, driven through its supervisor (demo/node.ts) over Redis. */
export class RemoteMember extends Member {
  #opening: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    private readonly namespace: string,
    private readonly redis: Redis,
  ) {
    super(id);
  }

  /** Called with every message the supervisors publish. */
  deliver(msg: Output): void {
    if (msg.from !== this.id) return;
    if ('line' in msg) {
      if ('event' in msg.line && msg.line.event === 'ready') clearTimeout(this.#opening);
      this.receive(msg.line);
    } else this.exited(msg.exit);
  }

  protected open(): void {
    // Its container may still be starting: ask until a supervisor listens.
    const ask = (): void => {
      void this.#control({ op: 'start' }).then((heard) => {
        if (!heard) this.#opening = setTimeout(ask, 250).unref();
      });
    };
    ask();
  }

  protected send(command: Command): void {
    void this.#control({ op: 'send', command });
  }

  protected signalKill(): void {
    void this.#control({ op: 'kill' });
  }

  /** Its application listens on its container's loopback: the node fetches it and relays the answer. */
  answer(): Promise<HttpAnswer> {
    return this.call<HttpAnswer>({ cmd: 'fetch' });
  }

  abandon(): void {
    clearTimeout(this.#opening);
  }

  async #control(c: Control): Promise<boolean> {
    return (await this.redis.publish(controlChannel(this.namespace, this.id), JSON.stringify(c)).catch(() => 0)) > 0;
  }
}

export function parse<T>(raw: string): T | undefined {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}

export function withTimeout<V>(p: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
