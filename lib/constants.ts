/**
 * Protocol constants, named and documented in one place.
 */

/** Version of the wire envelope; a message with any other is dropped. */
export const PROTOCOL_VERSION = 1;

/** How long a removed node's vector-clock tombstone is kept (5 minutes, as in the original). */
export const TOMBSTONE_TTL_MS = 5 * 60_000;

/** Random extra delay added to every anti-entropy tick. */
export const GOSSIP_JITTER_MS = 100;

/** How long a cold-starting node waits for a peer's rumor before trying the next one. */
export const COLD_START_PULL_TIMEOUT_MS = 6_000;

/** How many times an updater is re-run after the leader reports a newer version. */
export const MAX_UPDATE_RETRIES = 25;

/** How many times a write is re-routed (redirects, dead leaders) before it fails. */
export const MAX_ROUTE_ATTEMPTS = 8;

/** `setSync`'s default timeout: the original's 10 polls, 200 ms apart. */
export const SET_SYNC_TIMEOUT_MS = 2_000;

/**
 * Under load, a node's star pushes (one message that wakes every member) go
 * at most one per this many ms per member: 4.8 ms apart in a cluster of 25.
 * A change with no other change in that window goes out at once.
 */
export const STAR_GAP_PER_MEMBER_MS = 0.4;

/** Longest a member holds a `setSync` version request before answering with the version it has. */
export const MAX_VERSION_HOLD_MS = 1_000;

/** `auto` event mode switches to synchronous delivery above this many undelivered events. */
export const AUTO_SYNC_THRESHOLD = 3;

/** Requests older than this (by the sender's clock) are treated as replays and dropped. */
export const REPLAY_WINDOW_MS = 60_000;

/** Default largest accepted message. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Version of the v2 protocol's frames and envelopes. */
export const PROTOCOL_V2 = 2;

/** How long a committed write's id is kept, so a retry is answered with its version instead of applied again. */
export const WRITE_RECORD_TTL_MS = 2 * 60_000;

/** A node key outlives its node this long by default (`nodeKeyTtlMs`). */
export const DEFAULT_NODE_KEY_TTL_MS = 7 * 24 * 60 * 60_000;

/** How long a writer waits for the changes before its own to arrive before it reads the state instead. */
export const OWN_CHANGE_WAIT_MS = 50;

/** How long a restore lock is held at most. */
export const RESTORE_LOCK_MS = 5_000;
