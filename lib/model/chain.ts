import * as crypto from 'node:crypto';

/** SHA-1 in hex: crypto.hash where Node has it (20.12+; no Hash object per call), else createHash. */
const sha1: (text: string) => string = typeof crypto.hash === 'function' ? (text) => crypto.hash('sha1', text, 'hex') : (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');

/**
 * The hash chain, as the commit scripts compute it (redis.sha1hex): each
 * commit's hash covers the previous hash, the new version and the change's
 * description (which holds the write id, so no two commits share a hash).
 */
export function chainHash(prev: string, version: number, change: string): string {
  return sha1(`${prev}\n${version}\n${change}`);
}

/** The first hash of a cluster created at `version` (put-4.lua, 'create'). */
export function createdHash(cluster: string, version: number): string {
  return sha1(`create\n${cluster}\n${version}`);
}
