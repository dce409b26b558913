/**
 * simple-gossip: one shared value, and a key/value config view of it, kept
 * consistent across every process of a service that shares a Redis.
 * @module simple-gossip
 */
export { Gossip } from './gossip.js';
export type { StatusResult, StopOptions, Rumor } from './gossip.js';
export type { Updater, UpdateResult, DeepReadonly, CfgKey, CfgValue, CfgPatch, OptionalCfgKey, KeyHandler } from './types.js';
export type { StandardSchemaV1 } from './schema.js';
export type { SetSyncOptions, WaitFor } from './propagation.js';
export { DEFAULT_OPTIONS } from './options.js';
export type { GossipOptions, EventMode, Logger, Durability } from './options.js';
export type { Secret } from './signing.js';
export type { RedisClient } from './transport/client.js';
export type { GossipEvents, GossipEventType, Handler } from './events.js';
export type { Head } from './model/state.js';
export type { MetricsSnapshot, RpcCounters, TrafficCounters } from './metrics.js';
export { LATENCY_BUCKETS_MS } from './latency.js';
export type { HistogramSnapshot, LatencyKind, LatencyListener } from './latency.js';
export {
  GossipError,
  CouldNotConnectError,
  PropagationTimeoutError,
  ConflictError,
  RequestTimeoutError,
  NoListenerError,
  RedisUnreachableError,
  DurabilityError,
  NodeIdInUseError,
  StoppedError,
  InvalidOptionError,
  MessageTooLargeError,
  BadMessageError,
  SubscriberError,
  PersistenceError,
  ValidationError,
} from './errors.js';
export type { DropReason, ValidationIssue } from './errors.js';
export { Observer } from './observer.js';
export type { ObserverOptions, MemberView, ObserverWrite } from './observer.js';
