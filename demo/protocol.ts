/**
 * What the tour (demo/demo.ts) and its node processes (demo/node.ts) say to
 * each other: one JSON object a line over a child's stdin/stdout, or the same
 * objects relayed over Redis pub/sub when the nodes run in containers.
 */

/** Which node to run, and where. */
export interface NodeSpec {
  readonly redis: string;
  readonly namespace: string;
  readonly nodeId: string;
}

/** The tour's nodes find each other by themselves, and fail over fast. */
export const NODE_OPTIONS = {
  join: 'auto',
  rpcTimeoutMs: 1_000,
  gossipIntervalMs: 1_000,
  statusTimeoutMs: 500,
} as const;

/** A node's local view. */
export interface View {
  readonly id: string;
  readonly version: number;
  readonly leader: string;
  readonly nodes: readonly string[];
  readonly data: unknown;
}

/** What `setCfg` answers: when it started and ended (see {@link clock}), and the writer's view just after. */
export interface WriteAck {
  readonly t0: number;
  readonly t1: number;
  readonly version: number;
  readonly leader: string;
}

/** One HTTP answer of a node's application (demo/app.ts), and when it arrived (see {@link clock}). */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly at: number;
}

export type Command =
  | { readonly id: number; readonly cmd: 'view' }
  /** The node fetches its own application on loopback: how a tour in another container polls it. */
  | { readonly id: number; readonly cmd: 'fetch' }
  | { readonly id: number; readonly cmd: 'status' }
  | { readonly id: number; readonly cmd: 'stop' }
  | { readonly id: number; readonly cmd: 'setCfg'; readonly key: string; readonly value: unknown };

export type Line =
  /** Once the node and its application run; `bootMs` is the time since its process started, `url` where its application listens. */
  | { readonly event: 'ready'; readonly pid: number; readonly bootMs: number; readonly url: string; readonly view: View }
  | { readonly event: 'failed'; readonly message: string }
  | { readonly reply: number; readonly ok: true; readonly value: unknown }
  | { readonly reply: number; readonly ok: false; readonly message: string };

/** Tour → a node container's supervisor. */
export type Control = { readonly op: 'start' } | { readonly op: 'kill' } | { readonly op: 'send'; readonly command: Command };

/** A node container's supervisor → the tour. */
export type Output = { readonly from: string; readonly line: Line } | { readonly from: string; readonly exit: { readonly code: number | null; readonly signal: string | null } };

/** Channels of the relay; outside the namespace's own `<ns>:` channels, so no node ever sees them. */
export const controlChannel = (namespace: string, nodeId: string): string => `sg-demo:${namespace}:ctl:${nodeId}`;
export const outputChannel = (namespace: string): string => `sg-demo:${namespace}:out`;

/**
 * Milliseconds on the monotonic clock that every process of one machine (and
 * every container on one kernel) shares, so a time stamped in one node can be
 * subtracted from one stamped in another.
 */
export function clock(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
