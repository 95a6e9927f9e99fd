import { ExitCode, UserError } from '../errors';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EPIPE: 'the reader closed the pipe',
};

/**
 * Writing an output line failed. Lines written before are intact (the sink removes a partly written line), so the
 * message says so and, for a file, how to continue. A closed pipe (`| head -1`) is not a failure: the reader asked for no
 * more output, so the CLI ends quietly with exit code 0 (`brokenPipe`).
 */
export class OutputWriteError extends UserError {
  readonly code: string | undefined;
  readonly brokenPipe: boolean;

  constructor(target: string, isFile: boolean, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    const reason = (code && REASONS[code]) ?? (cause instanceof Error ? cause.message : String(cause));
    const kept = isFile
      ? '; every line written before is intact: fix the problem and rerun with --resume to continue'
      : '';
    super(`cannot write to ${isFile ? 'output file ' : ''}${target}: ${reason}${code ? ` (${code})` : ''}${kept}`, ExitCode.usage);
    this.name = 'OutputWriteError';
    this.code = code;
    this.brokenPipe = code === 'EPIPE' && !isFile;
  }
}
