/**
 * Protocol constants, named and documented in one place.
 */

/** Random extra delay added to every anti-entropy tick. */
export const GOSSIP_JITTER_MS = 100;

/** How many times an updater is re-run after another write got in first. */
export const MAX_UPDATE_RETRIES = 25;

/** `setSync`'s default timeout: the original's 10 polls, 200 ms apart. */
export const SET_SYNC_TIMEOUT_MS = 2_000;

/** How long a `setSync` waits for a member's ack of its change before it asks the member with a version request. */
export const ACK_WAIT_MS = 25;

/** Longest a member holds a `setSync` version request before answering with the version it has. */
export const MAX_VERSION_HOLD_MS = 1_000;

/** `auto` event mode switches to synchronous delivery above this many undelivered events. */
export const AUTO_SYNC_THRESHOLD = 3;

/** Requests (and writes) further than this from Redis's clock are treated as replays and dropped. */
export const REPLAY_WINDOW_MS = 60_000;

/** Default largest accepted message. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Version of the protocol's frames and envelopes; a message with any other is dropped. */
export const PROTOCOL_VERSION = 2;

/** How long a committed write's id is kept, so a retry is answered with its version instead of applied again. */
export const WRITE_RECORD_TTL_MS = 2 * 60_000;

/** A node key outlives its node this long by default (`nodeKeyTtlMs`). */
export const DEFAULT_NODE_KEY_TTL_MS = 7 * 24 * 60 * 60_000;

/** How long a writer waits for the changes before its own to arrive before it reads the state instead. */
export const OWN_CHANGE_WAIT_MS = 50;

/** How long a restore lock is held at most. */
export const RESTORE_LOCK_MS = 5_000;
