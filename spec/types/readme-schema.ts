// The README's "Types and validation" example, as it is written there (spec/integration/types.test.ts checks that it still is, and compiles it).
import { z } from 'zod';
import { Gossip, ValidationError } from 'simple-gossip';

const FlagsSchema = z.object({ darkMode: z.boolean(), limit: z.number().int().min(1), beta: z.boolean().optional() });
const flags = await Gossip.start({ namespace: 'flags', schema: FlagsSchema }); // T: z.infer<typeof FlagsSchema>

const limit: number = flags.getCfg('limit', 100);  // a default makes it defined; without one: number | undefined
await flags.patchCfg({ darkMode: true, limit: 10 }); // several keys, one commit; checked as the data they leave
// @ts-expect-error: 'limt' is not a key of the config
flags.getCfg('limt', 100);
// @ts-expect-error: limit is a number
await flags.setCfg('limit', 'many');
// @ts-expect-error: get() is deep-readonly (and frozen: it would throw)
flags.get()!.limit = 5;
await flags.setCfg('limit', 0).catch((err) => console.log(err instanceof ValidationError, err.message));
// true "the data a config write leaves does not match the schema: limit: Too small: expected number to be >=1"
