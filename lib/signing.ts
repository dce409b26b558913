import { createHmac, timingSafeEqual } from 'node:crypto';
import { BadMessageError } from './errors.js';

/** A shared secret for signing messages. */
export type Secret = string | Buffer;

/** Marks a signed frame: `~` + 43 characters of base64url HMAC-SHA256 + the payload. */
const MARK = '~';
const SIG_CHARS = 43;

/**
 * Signs every outgoing frame with the first secret and accepts a frame signed
 * with any of them (rotation: add the new secret second, roll it out, move it
 * first, roll out, drop the old one). The MAC covers the exact payload bytes
 * and is compared in constant time.
 */
export class Signer {
  readonly #keys: readonly Buffer[];

  constructor(secrets: Secret | readonly Secret[]) {
    const list = (Array.isArray(secrets) ? secrets : [secrets]) as readonly Secret[];
    if (list.length === 0) throw new TypeError('secret: give at least one');
    this.#keys = list.map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s)));
    if (this.#keys.some((k) => k.length === 0)) throw new TypeError('secret: an empty secret signs nothing');
  }

  sign(payload: string): string {
    return MARK + mac(this.#keys[0]!, payload).toString('base64url') + payload;
  }

  /** The signature of `payload` with the first secret (base64url), for a frame that carries it apart. */
  signature(payload: string): string {
    return mac(this.#keys[0]!, payload).toString('base64url');
  }

  /** Whether `sig` is `payload`'s signature with any of the secrets (constant-time compare). */
  verify(sig: string, payload: string): boolean {
    const given = Buffer.from(sig, 'base64url');
    return this.#keys.some((key) => {
      const want = mac(key, payload);
      return given.length === want.length && timingSafeEqual(given, want);
    });
  }

  /** The payload of a genuine frame; a {@link BadMessageError} for an unsigned or forged one. */
  open(frame: string): string {
    if (frame[0] !== MARK || frame.length < 1 + SIG_CHARS) throw new BadMessageError('bad_signature', 'unsigned message');
    const given = Buffer.from(frame.slice(1, 1 + SIG_CHARS), 'base64url');
    const payload = frame.slice(1 + SIG_CHARS);
    for (const key of this.#keys) {
      const want = mac(key, payload);
      if (given.length === want.length && timingSafeEqual(given, want)) return payload;
    }
    throw new BadMessageError('bad_signature', 'message signature does not match any secret');
  }
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload, 'utf8').digest();
}
