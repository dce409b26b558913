/**
 * Change frames: what a commit script publishes to every member. The script
 * writes the first line (the header: cluster, version, hash chain, commit
 * time); the rest is the writer's own text, sent to the script as is:
 *
 *   {"v":2,"t":"change","ns":…,"c":…,"from":…,"n":…,"h":…,"p":…,"at":…}
 *   <signature of what follows, or empty>
 *   <meta: {"w":writeId,"ts":…,"op":…,"mode":…,"set":[keys],"del":[keys],"sigs":[…],"ack":1}>
 *   <one value text per key set>
 *
 * Value texts are serialise()d (JSON or superjson), which never holds a raw
 * newline, so the lines need no other framing.
 */
import { FORBIDDEN_KEYS, FORBIDDEN_TEXT, hasForbiddenKey } from '../codec.js';
import { PROTOCOL_VERSION } from '../constants.js';
import { BadMessageError } from '../errors.js';
import type { DropReason } from '../errors.js';
import type { DataMode } from '../model/state.js';
import type { Signer } from '../signing.js';

/** The header a script writes. */
export interface ChangeHeader {
  readonly ns: string;
  /** The cluster the change belongs to. */
  readonly c: string;
  /** Who committed it. */
  readonly from: string;
  /** The new version, hash, and the hash it follows ('' after a restore). */
  readonly n: number;
  readonly h: string;
  readonly p: string;
  /** Commit time, in µs of Redis's clock (for a restore or a change of members: ms). */
  readonly at: number;
}

/** A data change's description, as its writer wrote it. */
export interface DataMeta {
  readonly op: 'set' | 'patch';
  /** The write id. */
  readonly w: string;
  /** The writer's stamp (Redis's clock as it knew it). */
  readonly ts: number;
  readonly mode?: DataMode;
  readonly set: readonly string[];
  readonly del?: readonly string[];
  /** Each value's signature, in the order of `set`. */
  readonly sigs?: readonly string[];
  /** The writer waits for its members: each that holds the change sends it an `ack` envelope. */
  readonly ack?: 1;
}

/** Any other change (members, leader, settings, a merge, a restore): read the state. */
export interface OtherMeta {
  readonly op: 'meta' | 'merge' | 'restore';
}

export interface ChangeFrame {
  readonly header: ChangeHeader;
  readonly meta: DataMeta | OtherMeta;
  /** The meta line exactly as sent (the hash chain covers it). */
  readonly metaText: string;
  /** The value texts, undecoded (a stale frame is dropped before any is parsed). */
  readonly values: readonly string[];
}

export interface FrameOptions {
  readonly namespace: string;
  readonly maxMessageBytes: number;
  readonly signer?: Signer | undefined;
}

/** The header line a script completes (it appends the version, hashes and time). */
export function headerPrefix(namespace: string, cluster: string, from: string): string {
  return `{"v":${PROTOCOL_VERSION},"t":"change","ns":${JSON.stringify(namespace)},"c":${JSON.stringify(cluster)},"from":${JSON.stringify(from)}`;
}

/** What a writer sends beside its meta line: the signature line that covers the meta and values. */
export function signatureLine(signer: Signer | undefined, metaText: string, values: readonly string[]): string {
  if (!signer) return '';
  return signer.signature([metaText, ...values].join('\n'));
}

/** Decodes a change frame; a {@link BadMessageError} for anything that is not a genuine one. */
export function decodeChange(raw: string, o: FrameOptions): ChangeFrame {
  const bytes = Buffer.byteLength(raw);
  if (bytes > o.maxMessageBytes) throw drop('too_big', `change of ${bytes} bytes is over the limit`);
  const first = raw.indexOf('\n');
  const second = raw.indexOf('\n', first + 1);
  if (first < 0 || second < 0) throw drop('bad_shape', 'a change frame has a header, a signature and a meta line');
  const headerText = raw.slice(0, first);
  const header = parseJson(headerText);
  if (FORBIDDEN_TEXT.test(headerText) && hasForbiddenKey(header)) throw drop('bad_shape', 'header has a __proto__, constructor or prototype key');
  if (!isObject(header) || header.v !== PROTOCOL_VERSION || header.t !== 'change') throw drop('unknown_protocol', 'not a v2 change frame');
  if (header.ns !== o.namespace) throw drop('wrong_namespace', `change for namespace ${String(header.ns)}`);
  if (!isHeader(header)) throw drop('bad_shape', 'malformed change header');
  const sig = raw.slice(first + 1, second);
  const rest = raw.slice(second + 1);
  const lines = rest.split('\n');
  const metaText = lines[0]!;
  const meta = parseJson(metaText);
  if (FORBIDDEN_TEXT.test(metaText) && hasForbiddenKey(meta)) throw drop('bad_shape', 'meta has a __proto__, constructor or prototype key');
  if (isDataMeta(meta)) {
    if ([...meta.set, ...(meta.del ?? [])].some((k) => FORBIDDEN_KEYS.has(k))) throw drop('bad_shape', 'a change to a key named __proto__, constructor or prototype');
    if (o.signer && !o.signer.verify(sig, rest)) throw drop('bad_signature', sig === '' ? 'unsigned change' : 'change signature does not match any secret');
    if (!o.signer && sig !== '') throw drop('bad_signature', 'signed change, but this node has no secret');
    const values = lines.slice(1);
    if (values.length !== meta.set.length) throw drop('bad_shape', `a change of ${meta.set.length} key(s) carries ${values.length} value(s)`);
    return { header, meta, metaText, values };
  }
  if (isOtherMeta(meta) && lines.length === 1) return { header, meta, metaText, values: [] };
  throw drop('bad_shape', 'malformed change meta');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw drop('bad_json', `not JSON: ${(err as Error).message}`);
  }
}

function isHeader(h: Record<string, unknown>): h is Record<string, unknown> & ChangeHeader {
  return isId(h.c) && isId(h.from) && isVersion(h.n) && isHash(h.h) && (h.p === '' || isHash(h.p)) && Number.isSafeInteger(h.at);
}

function isDataMeta(m: unknown): m is DataMeta {
  if (!isObject(m) || (m.op !== 'set' && m.op !== 'patch')) return false;
  return (
    typeof m.w === 'string' &&
    typeof m.ts === 'number' &&
    (m.mode === undefined || m.mode === 'v' || m.mode === 'c') &&
    isStrings(m.set) &&
    (m.del === undefined || isStrings(m.del)) &&
    (m.sigs === undefined || isStrings(m.sigs)) &&
    (m.ack === undefined || m.ack === 1)
  );
}

function isOtherMeta(m: unknown): m is OtherMeta {
  return isObject(m) && (m.op === 'meta' || m.op === 'merge' || m.op === 'restore');
}

const drop = (reason: DropReason, message: string) => new BadMessageError(reason, message);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 512;
const isHash = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{40}$/.test(x);
const isVersion = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;
const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
