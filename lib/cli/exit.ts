/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** Bad command line: unknown command or option, a value that is not JSON, a bad number. */
  usage: 1,
  /** Redis cannot be reached, or no member of the namespace is live or answers. */
  unreachable: 2,
  /** `status`: a member does not answer, or the members answer different versions. */
  unhealthy: 3,
  /** `set` / `set-cfg` / `delete-cfg` / `evict`: the cluster refused the write, or it could not be committed. */
  writeFailed: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `err` as a CliError: kept as it is if it already is one, else given `exitCode`. */
export function asCliError(err: unknown, exitCode: ExitCode, prefix = ''): CliError {
  if (err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CliError(exitCode, `${prefix}${message}`, { cause: err });
}
