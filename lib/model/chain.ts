import { createHash } from 'node:crypto';

/**
 * The hash chain, as the commit scripts compute it (redis.sha1hex): each
 * commit's hash covers the previous hash, the new version and the change's
 * description (which holds the write id, so no two commits share a hash).
 */
export function chainHash(prev: string, version: number, change: string): string {
  return createHash('sha1').update(`${prev}\n${version}\n${change}`, 'utf8').digest('hex');
}

/** The first hash of a cluster created at `version` (put-4.lua, 'create'). */
export function createdHash(cluster: string, version: number): string {
  return createHash('sha1').update(`create\n${cluster}\n${version}`, 'utf8').digest('hex');
}
