/**
 * `node --import tsx spec/support/cluster-workers.ts <redis-url> <namespace>`:
 * a node:cluster primary that forks two workers; each starts a Gossip node
 * WITHOUT a nodeId and prints {"worker":…,"id":…} or {"worker":…,"error":…},
 * then stops. The primary exits once both have reported.
 */
import cluster from 'node:cluster';
import { Gossip } from '../../lib/index.js';

const [url, namespace] = process.argv.slice(2) as [string, string];

if (cluster.isPrimary) {
  let done = 0;
  for (let i = 0; i < 2; i++) cluster.fork();
  cluster.on('exit', () => {
    if (++done === 2) process.exit(0);
  });
  setTimeout(() => process.exit(2), 20_000).unref();
} else {
  try {
    const node = await Gossip.start({ redis: url, namespace });
    process.stdout.write(`${JSON.stringify({ worker: cluster.worker!.id, id: node.id })}\n`);
    // Both live at once: wait a moment before stopping, so the other starts while this one runs.
    await new Promise((r) => setTimeout(r, 1_000));
    await node.stop();
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ worker: cluster.worker!.id, error: (err as { code?: string }).code ?? String(err) })}\n`);
  }
  process.exit(0);
}
