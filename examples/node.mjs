// A node of your own: NODE_ID=a node examples/node.mjs (run it in three terminals, or in the background).
// It joins the other nodes of its namespace by itself, prints every change, and stops on Ctrl-C.
import { Gossip } from '../dist/index.js';

const node = await Gossip.start({
  nodeId: process.env.NODE_ID, // default: the host name
  namespace: process.env.NAMESPACE ?? 'example',
  join: 'auto', // find the live members through Redis and join them
  // redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' (the default)
});
console.log(`${node.id}: up, version ${node.version}, members ${node.nodes.join(', ')}`);
node.subscribe(({ data, version }) => console.log(`${node.id}: version ${version}`, data));

const stop = async () => {
  await node.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
