import { EXIT } from './exit.js';
import { println, table, toJson } from './output.js';
import type { Session } from './session.js';

/**
 * `nodes`: the members of the main cluster, the leader marked, each live or
 * not (whether a client listens on its channel); then any live node of the
 * namespace that is not a member (a node that went on alone, say).
 */
export async function nodes(s: Session): Promise<number> {
  const rumor = await s.rumor();
  const live = new Set(await s.observer.live());
  const rows = [
    ...rumor.nodes.toSorted().map((id) => ({ nodeId: id, leader: id === rumor.leader, member: true, live: live.has(id) })),
    ...[...live]
      .filter((id) => !rumor.nodes.includes(id))
      .sort()
      .map((id) => ({ nodeId: id, leader: false, member: false, live: true })),
  ];
  s.done();
  if (s.options.json) {
    println(toJson({ leader: rumor.leader, version: rumor.version, nodes: rows }));
  } else {
    println(
      table(
        ['NODE', 'ROLE', 'LIVE'],
        rows.map((r) => [r.nodeId, r.leader ? 'leader' : r.member ? 'member' : 'not a member', r.live ? 'live' : 'down']),
      ),
    );
  }
  return EXIT.ok;
}
