import { without } from '../model/housekeeping.js';
import { CliError, EXIT, asCliError } from './exit.js';
import { println, toJson } from './output.js';
import type { Session } from './session.js';

/** How often a membership change computed from a state another commit got ahead of is computed again. */
const ATTEMPTS = 8;

/**
 * `evict <id>`: removes a member from the main cluster, as a member's
 * `leave(id)` does — one commit of the cluster's meta script: the members
 * without it, a new leader if it led, every member (and the removed node)
 * told. A removed node that runs goes on alone with its data (with join
 * 'auto' it comes back); one that is down restarts alone. Its node key is
 * left for `purge` once it is stale.
 */
export async function evict(s: Session, id: string): Promise<number> {
  await s.answering();
  const { store } = await s.direct();
  s.progress(`removing ${id}`);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const state = await s.rumor();
    if (!state.nodes.includes(id)) {
      throw new CliError(EXIT.writeFailed, `evict failed: ${id} is not a member of cluster ${state.cluster} (members: ${state.nodes.join(', ')})`);
    }
    if (state.nodes.length === 1) throw new CliError(EXIT.writeFailed, `evict failed: ${id} is the only member of cluster ${state.cluster}`);
    const next = without(state.nodes, state.leader, id, id);
    let reply;
    try {
      reply = await store.meta(state, state.hash, {
        nodes: next.nodes,
        leader: next.leader,
        fanout: state.fanout,
        gossipIntervalMs: state.gossipIntervalMs,
        why: `evict ${id} (command line)`,
        tell: [id],
      });
    } catch (err) {
      throw asCliError(err, EXIT.writeFailed, 'evict failed: ');
    }
    if (reply.kind === 'missing') {
      throw new CliError(EXIT.writeFailed, `evict failed: the state of cluster ${state.cluster} is gone from Redis (a member restores it); try again`);
    }
    if (reply.kind === 'ok') {
      s.done();
      println(
        s.options.json
          ? toJson({ ok: true, version: reply.version, evicted: id, leader: next.leader, nodes: next.nodes })
          : `version ${reply.version}: ${id} evicted (leader ${next.leader}, members ${next.nodes.join(', ')})`,
      );
      return EXIT.ok;
    }
    // 'conflict': another commit got in first; compute the change again from the state after it.
  }
  throw new CliError(EXIT.writeFailed, `evict failed: the change kept conflicting with other commits (${ATTEMPTS} attempts)`);
}
