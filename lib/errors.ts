/** Base of every error simple-gossip throws; `code` is stable and meant for programs. */
export class GossipError extends Error {
  override readonly name: string = 'GossipError';
  /** A stable, machine-readable code, e.g. 'could_not_connect_to_node'. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** `join(id)` found nobody answering for `id`. */
export class CouldNotConnectError extends GossipError {
  override readonly name = 'CouldNotConnectError';
  constructor(
    readonly nodeId: string,
    options?: { cause?: unknown },
  ) {
    super('could_not_connect_to_node', `could not connect to node "${nodeId}"`, options);
  }
}

/** `setSync` gave up before every member held the written version. */
export class PropagationTimeoutError extends GossipError {
  override readonly name = 'PropagationTimeoutError';
  constructor(
    readonly version: number,
    /** Members still below `version`, with the version each answered (undefined: no answer). */
    readonly laggards: ReadonlyArray<{ readonly nodeId: string; readonly version: number | undefined }>,
  ) {
    super('propagation_timeout', `version ${version} did not reach ${laggards.map((l) => `${l.nodeId} (${l.version ?? 'no answer'})`).join(', ')}`);
  }
}

/** An updater kept meeting newer versions (other writes got in first every time) and gave up. */
export class ConflictError extends GossipError {
  override readonly name = 'ConflictError';
  constructor(attempts: number) {
    super('conflict', `the update kept conflicting with newer versions (${attempts} attempts)`);
  }
}

/** A request to another node got no answer in time. */
export class RequestTimeoutError extends GossipError {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly target: string,
    readonly type: string,
    timeoutMs: number,
  ) {
    super('timeout', `no answer from "${target}" to "${type}" within ${timeoutMs} ms`);
  }
}

/** A request was published to a channel nobody listens on: that node is not there. */
export class NoListenerError extends GossipError {
  override readonly name = 'NoListenerError';
  constructor(readonly target: string) {
    super('no_listener', `nobody listens for node "${target}"`);
  }
}

/** `start()` found a live node with the same id in the namespace. */
export class NodeIdInUseError extends GossipError {
  override readonly name = 'NodeIdInUseError';
  constructor(
    readonly nodeId: string,
    namespace: string,
  ) {
    super('node_id_in_use', `a node with id "${nodeId}" is already live in namespace "${namespace}"`);
  }
}

/** The node was stopped; the call cannot be served. */
export class StoppedError extends GossipError {
  override readonly name = 'StoppedError';
  constructor() {
    super('stopped', 'the gossip node is stopped');
  }
}

/** An option given to `start()` is not valid. */
export class InvalidOptionError extends GossipError {
  override readonly name = 'InvalidOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('invalid_option', `option "${option}": ${message}`);
  }
}

/** An encoded value or message is larger than `maxMessageBytes`. */
export class MessageTooLargeError extends GossipError {
  override readonly name = 'MessageTooLargeError';
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super('message_too_large', `the encoded message is ${bytes} bytes, over the ${limit}-byte limit`);
  }
}

/** An inbound message was not a valid envelope; reported on 'error', never thrown. */
export class BadMessageError extends GossipError {
  override readonly name = 'BadMessageError';
  constructor(
    readonly reason: DropReason,
    message: string,
    readonly channel?: string,
  ) {
    super('bad_message', message);
  }
}

/** Why an inbound message was dropped (the label of `metrics().dropped`). */
export type DropReason = 'too_big' | 'bad_json' | 'bad_shape' | 'wrong_namespace' | 'unknown_protocol' | 'unknown_type' | 'bad_signature' | 'replay' | 'wrong_addressee';

/** A user's event handler threw; reported on 'error'. */
export class SubscriberError extends GossipError {
  override readonly name = 'SubscriberError';
  constructor(
    readonly event: string,
    cause: unknown,
  ) {
    super('subscriber_failed', `a '${event}' subscriber threw: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
}

/** Writing or reading the Redis snapshot failed; reported on 'error'. */
export class PersistenceError extends GossipError {
  override readonly name = 'PersistenceError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('persistence_failed', message, options);
  }
}

/** Redis could not be reached in time (or the start was aborted): names the address and the cause. */
export class RedisUnreachableError extends GossipError {
  override readonly name = 'RedisUnreachableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('redis_unreachable', message, options);
  }
}

/**
 * A commit reached fewer replicas than `durability` asks within its timeout.
 * It IS applied (on the primary, and on every member that got it); a
 * failover before the replicas catch up may lose it.
 */
export class DurabilityError extends GossipError {
  override readonly name = 'DurabilityError';
  constructor(
    readonly version: number,
    readonly replicas: number,
    readonly wanted: number,
  ) {
    super('durability_timeout', `version ${version} is committed, but only ${replicas} of ${wanted} replica(s) had it in time`);
  }
}

/** One problem a schema found: its message, and where in the data (empty: the whole value). */
export interface ValidationIssue {
  readonly message: string;
  readonly path: readonly PropertyKey[];
}

/**
 * Data that does not match the `schema` given to `start()`: a write rejects
 * with it before anything is sent; a state from another node or from Redis
 * that does not match is not installed, and reported on 'error' with it.
 */
export class ValidationError extends GossipError {
  override readonly name = 'ValidationError';
  constructor(
    /** What was checked, e.g. 'the data of set()'. */
    readonly what: string,
    readonly issues: readonly ValidationIssue[],
    options?: { cause?: unknown },
  ) {
    super('invalid_data', `${what} does not match the schema: ${issues.map(describeIssue).join('; ')}`, options);
  }
}

function describeIssue(issue: ValidationIssue): string {
  if (issue.path.length === 0) return issue.message;
  const path = issue.path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
  return `${path}: ${issue.message}`;
}
