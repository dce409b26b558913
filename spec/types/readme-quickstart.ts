// The README's Quick start, as it is written there (spec/integration/types.test.ts checks that it still is, and compiles it).
// quickstart.mts — run with: npx tsx quickstart.mts (or tsc, then node quickstart.mjs)
import { Gossip } from 'simple-gossip';

interface Greeting {
  greeting: string;
  count: number;
}

const a = await Gossip.start<Greeting>({ nodeId: 'node-a', namespace: 'quickstart' });
const b = await Gossip.start<Greeting>({ nodeId: 'node-b', namespace: 'quickstart' });
await a.join('node-b');                        // one cluster now

b.subscribe(({ data, version }) => console.log('b sees', data, 'at version', version));

await a.setSync({ greeting: 'hello world', count: 0 }); // resolves once b has it too
console.log(b.get());                          // { greeting: 'hello world', count: 0 }

await b.setSync((cur) => ({ change: { greeting: cur?.greeting ?? 'hello', count: (cur?.count ?? 0) + 1 } }));
console.log(a.getCfg('count', -1), (await a.status()).ok);                       // 1 true

await a.stop({ leave: true });                 // a leaves; b carries on alone
await b.stop();
