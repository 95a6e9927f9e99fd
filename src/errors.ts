/** Process exit codes; documented in the README ("Exit codes"). */
export const ExitCode = {
  ok: 0,
  /** Some requests failed (error records were written), or a --fail-on gate tripped. */
  someFailed: 1,
  /** Usage error, unreadable input, or a model that cannot be loaded. */
  usage: 2,
  /** Stopped by --max-time after writing what was complete: resumable with --resume. */
  maxTime: 3,
  /** Interrupted by SIGINT/SIGTERM after writing what was complete. */
  interrupted: 130,
} as const;

/** An error whose message is meant for the user as is (no stack trace). */
export class UserError extends Error {
  constructor(message: string, readonly exitCode: number = ExitCode.usage) {
    super(message);
    this.name = 'UserError';
  }
}
