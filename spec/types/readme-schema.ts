// The README's "Types and validation" example, as it is written there (spec/integration/types.test.ts checks that it still is, and compiles it).
import { z } from 'zod';
import { Gossip, ValidationError } from 'simple-gossip';

const FlagsSchema = z.object({ darkMode: z.boolean(), limit: z.number().int().min(1), beta: z.boolean().optional() });
const flags = await Gossip.start({ namespace: 'flags', schema: FlagsSchema }); // T: z.infer<typeof FlagsSchema>

await flags.patchCfg({ darkMode: true, limit: 10 }); // several keys, one commit; checked as the data they leave
const limit: number = flags.getCfg('limit', 100);    // a default makes it defined; without one: number | undefined
await flags.setCfg('limit', 0).catch((err) => console.log(err instanceof ValidationError, err.message));
// true the data a config write leaves does not match the schema: limit: Too small: expected number to be >=1
await flags.stop();

// What tsc refuses:
// flags.getCfg('limt', 100);           'limt' is not a key of the config
// await flags.setCfg('limit', 'many'); limit is a number
// flags.get()!.limit = 5;              get() is deep-readonly (and frozen: it would throw)
