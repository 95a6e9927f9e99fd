import * as fs from 'node:fs';
import { OutputWriteError } from './outputWriteError';

/**
 * Writes one JSON object per line, each line with a single write of the whole line, so a crash or a kill can never leave
 * half a record behind a complete one. Regular files are fdatasync'ed after every line: a written line survives even a
 * machine crash. If a write fails part way (ENOSPC), the partial line is cut off again, so the file still ends with a
 * complete line. Pipes (stdout) get the same whole-line writes. Write failures become OutputWriteError (EPIPE included:
 * the reader went away, e.g. `| head`).
 */
export class JsonlSink {
  private closed = false;
  linesWritten = 0;

  private constructor(
    private readonly fd: number,
    /** A regular file: fdatasync after each line and roll back a partial line (neither works on pipes or devices). */
    private readonly isRegularFile: boolean,
    readonly target: string,
    private readonly ownsFd: boolean,
    private readonly reportAsFile: boolean,
    /** File size after the last complete line. */
    private size: number,
    /** Runs once the file is closed (releases the output lock). */
    private readonly afterClose: () => void = () => {},
  ) {}

  static stdout(): JsonlSink {
    return new JsonlSink(1, false, '<stdout>', false, false, 0);
  }

  /** Opens `file` for writing: `append` keeps existing content (resume), otherwise the file must not already have content unless `overwrite`. */
  static file(file: string, mode: 'create' | 'overwrite' | 'append', afterClose?: () => void): JsonlSink {
    const flags = mode === 'append' ? 'a' : mode === 'overwrite' ? 'w' : 'wx';
    const fd = fs.openSync(file, flags);
    const stat = fs.fstatSync(fd);
    return new JsonlSink(fd, stat.isFile(), file, true, true, stat.isFile() ? stat.size : 0, afterClose);
  }

  write(record: object): void {
    if (this.closed) throw new Error('sink is closed');
    const bytes = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    try {
      writeFully(this.fd, bytes);
      if (this.isRegularFile) fs.fdatasyncSync(this.fd);
    } catch (error) {
      this.rollBack();
      throw new OutputWriteError(this.target, this.reportAsFile, error);
    }
    this.size += bytes.length;
    this.linesWritten++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.ownsFd) fs.closeSync(this.fd);
    } finally {
      this.afterClose();
    }
  }

  /** Cuts a partly written line off, best effort: the write already failed, and resume drops a torn tail anyway. */
  private rollBack(): void {
    if (!this.isRegularFile) return;
    try {
      fs.ftruncateSync(this.fd, this.size);
      fs.fdatasyncSync(this.fd);
    } catch {
      // Nothing more can be done here; the caller reports the original error.
    }
  }
}

/** A single write() call normally takes the whole line; loop on short writes and EAGAIN (non-blocking pipes). */
function writeFully(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
        continue;
      }
      throw error;
    }
  }
}
