// The README's Observer example, as it is written there (spec/integration/types.test.ts checks that it still is, and compiles it).
// observer.mjs — run with: node observer.mjs
import { Gossip, Observer } from 'simple-gossip';

const node = await Gossip.start({ nodeId: 'api-1', namespace: 'shop' }); // a member: your service
const admin = await Observer.connect({ namespace: 'shop' });              // an admin tool, elsewhere

const stop = admin.watch((s) => console.log('watch: version', s.version, s.data)); // now, then on each change

const { rumor, members } = await admin.members();
console.log(rumor?.leader, members); // api-1 [ { nodeId: 'api-1', listening: true, version: 1, leader: true } ]

const state = await admin.write({ kind: 'cfg', key: 'newCheckout', value: true }); // as setCfg: every member is told
console.log(state.version, state.data);                                            // 2 { newCheckout: true }
await admin.write({ kind: 'delete', key: 'newCheckout' }); // or { kind: 'set', data } for the whole value

stop();
await admin.close(); // stops its watches too
await node.stop();

export {};
