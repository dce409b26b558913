import type { MemberView } from '../index.js';
import { CliError, EXIT } from './exit.js';
import { println, table, toJson } from './output.js';
import type { Session } from './session.js';

type Health =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly error: 'timeout'; readonly unresponsive: string[] }
  | { readonly ok: false; readonly error: 'gossip_vsn_mismatch'; readonly versions: Record<string, number> };

/**
 * `status`: every member with its version and whether it answers. Healthy
 * (exit 0) when all answer with one version, as `node.status()` judges it;
 * a silent member wins over a version mismatch (exit 3 either way). When
 * no member answers at all, the CLI is not heard (exit 2).
 */
export async function status(s: Session): Promise<number> {
  // None answering at all is not a health verdict but a CLI that is not heard (a secret that differs): exit 2.
  const { rumor, members: unsorted } = await s.answering();
  const members = unsorted.toSorted((a, b) => a.nodeId.localeCompare(b.nodeId));
  const health = judge(members);
  const top = Math.max(rumor.version, ...members.map((m) => m.version ?? 0));
  s.done();
  if (s.options.json) {
    println(
      toJson({
        ...health,
        namespace: s.options.namespace,
        version: health.ok ? health.version : top,
        leader: rumor.leader,
        nodes: rumor.nodes,
        members: members.map((m) => ({ nodeId: m.nodeId, leader: m.leader, listening: m.listening, version: m.version ?? null })),
      }),
    );
  } else {
    println(`namespace ${s.options.namespace}, leader ${rumor.leader}, version ${top}\n`);
    println(
      table(
        ['NODE', 'ROLE', 'VERSION', 'STATE'],
        members.map((m) => [m.nodeId, m.leader ? 'leader' : 'member', m.version === undefined ? '-' : String(m.version), stateOf(m, top)]),
      ),
    );
    if (health.ok) println(`\nhealthy: ${members.length} member${members.length === 1 ? '' : 's'}, all at version ${health.version}`);
  }
  if (!health.ok) throw new CliError(EXIT.unhealthy, `not healthy: ${reasonOf(health)}`);
  return EXIT.ok;
}

function judge(members: readonly MemberView[]): Health {
  const unresponsive = members.filter((m) => m.version === undefined).map((m) => m.nodeId);
  if (unresponsive.length > 0) return { ok: false, error: 'timeout', unresponsive };
  const versions = new Set(members.map((m) => m.version!));
  if (versions.size > 1) {
    return { ok: false, error: 'gossip_vsn_mismatch', versions: Object.fromEntries(members.map((m) => [m.nodeId, m.version!])) };
  }
  return { ok: true, version: [...versions][0]! };
}

function stateOf(m: MemberView, top: number): string {
  if (m.version !== undefined) return m.version === top ? 'ok' : 'behind';
  return m.listening ? 'no answer' : 'down (not listening)';
}

function reasonOf(h: Exclude<Health, { ok: true }>): string {
  if (h.error === 'timeout') return `${h.unresponsive.join(', ')} ${h.unresponsive.length === 1 ? 'does' : 'do'} not answer`;
  return `members answer different versions (${Object.entries(h.versions)
    .map(([id, v]) => `${id} ${v}`)
    .join(', ')})`;
}
