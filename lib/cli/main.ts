#!/usr/bin/env node
/**
 * simple-gossip: look at and write to a running cluster through Redis, as an
 * observer that never joins it. Exit codes: see ./exit.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { CliError, EXIT, asCliError } from './exit.js';
import { evict } from './evict.js';
import { get } from './get.js';
import { nodes } from './nodes.js';
import { collect, collectUrls, DEFAULT_NAMESPACE, DEFAULT_PURGE_AGE_MS, DEFAULT_REDIS, DEFAULT_TIMEOUT_MS, parseDuration, parseMs, SECRET_ENV } from './options.js';
import type { GlobalOptions } from './options.js';
import { purge } from './purge.js';
import { Session } from './session.js';
import { deleteCfgOp, setCfgOp, setOp, write } from './set.js';
import { status } from './status.js';
import { watch } from './watch.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Connects, runs one command, closes; the command's exit code becomes the process's. */
async function withSession(cmd: Command, run: (s: Session) => Promise<number>): Promise<void> {
  const session = await Session.open(cmd.optsWithGlobals<GlobalOptions>());
  try {
    process.exitCode = await run(session);
  } finally {
    await session.close();
  }
}

const program = new Command('simple-gossip')
  .description('Look at and write to a simple-gossip cluster through its Redis, without joining it.')
  .version(version)
  .addOption(new Option('--redis <url>', 'the Redis the cluster uses (with --cluster: a startup node; repeat it to give several)').env('REDIS_URL').default(DEFAULT_REDIS).argParser(collectUrls))
  .option('--cluster', 'the Redis is a Redis Cluster: connect through its --redis startup nodes (sharded pub/sub)')
  .option('--namespace <ns>', "the cluster's namespace", DEFAULT_NAMESPACE)
  .addOption(new Option('--secret <secret>', "the cluster's shared secret; repeat it to give several").env(SECRET_ENV).argParser(collect))
  .option('--timeout <ms>', 'how long to wait for Redis and for each member', parseMs, DEFAULT_TIMEOUT_MS)
  .option('--json', 'machine-readable output: one JSON document (watch: one per line)')
  .showSuggestionAfterError(true)
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(`simple-gossip: ${oneLine(str.replace(/^error: /, ''))}\n`) });

program
  .command('status')
  .description("members, leader, and each member's version; exit 0 when all answer with one version, 3 otherwise")
  .action((_o, cmd: Command) => withSession(cmd, status));

program
  .command('get')
  .description('the data as JSON, or one key of it (null when missing)')
  .argument('[key]', 'a config key')
  .action((key: string | undefined, _o, cmd: Command) => withSession(cmd, (s) => get(s, key)));

program
  .command('set')
  .description('replace the data (one commit, as a member makes it); prints the new version')
  .argument('<json>', 'the new data as JSON, or - to read it from stdin')
  .action(async (json: string, _o, cmd: Command) => {
    const op = await setOp(json);
    await withSession(cmd, (s) => write(s, op));
  });

program
  .command('set-cfg')
  .description('set one config key, keeping the others; prints the new version')
  .argument('<key>', 'the config key')
  .argument('<json>', 'its value as JSON (a string needs quotes: \'"dark"\')')
  .action((key: string, json: string, _o, cmd: Command) => {
    const op = setCfgOp(key, json);
    return withSession(cmd, (s) => write(s, op));
  });

program
  .command('delete-cfg')
  .description('remove one config key, keeping the others; prints the version')
  .argument('<key>', 'the config key')
  .action((key: string, _o, cmd: Command) => withSession(cmd, (s) => write(s, deleteCfgOp(key))));

program
  .command('evict')
  .description('remove a member from the cluster, as its leave() would (for a member that is gone for good); prints the new version')
  .argument('<id>', 'the node id')
  .action((id: string, _o, cmd: Command) => withSession(cmd, (s) => evict(s, id)));

program
  .command('purge')
  .description("delete the node keys and cluster states nobody uses any more (stale, not listening, not a live cluster's)")
  .option('--dry-run', 'only print what would be deleted')
  .option('--older-than <duration>', 'how long a node or cluster must have been silent (ms, or e.g. 90s, 30m, 12h, 7d)', parseDuration, DEFAULT_PURGE_AGE_MS)
  .action((o: { dryRun?: boolean; olderThan: number }, cmd: Command) => withSession(cmd, (s) => purge(s, { dryRun: o.dryRun === true, olderThanMs: o.olderThan })));

program
  .command('watch')
  .description('print the data, then each change on its own line, until Ctrl-C')
  .option('--interval <ms>', 'how often to poll the state in Redis', parseMs, 250)
  .action((o: { interval: number }, cmd: Command) => withSession(cmd, (s) => watch(s, o.interval)));

program
  .command('nodes')
  .description('the members, the leader marked, and whether each is live')
  .action((_o, cmd: Command) => withSession(cmd, nodes));

function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}

// `simple-gossip get | head -1` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
  throw err;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and --version exit 0; every parse error is a usage error (commander printed why).
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    // No command: commander printed the usage; the reason still gets its line.
    if (err.code === 'commander.help' && err.exitCode !== 0) {
      process.stderr.write(`simple-gossip: missing command: ${program.commands.map((c) => c.name()).join(', ')}\n`);
    }
  } else {
    const e = err instanceof CliError ? err : asCliError(err, EXIT.unreachable);
    process.stderr.write(`simple-gossip: ${oneLine(e.message)}\n`);
    process.exitCode = e.exitCode;
  }
}
// Everything is closed by now; should a socket linger, it must not keep the process alive.
setTimeout(() => process.exit(), 1_000).unref();
