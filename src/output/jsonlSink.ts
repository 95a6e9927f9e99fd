import * as fs from 'node:fs';

/**
 * Writes one JSON object per line, each line with a single write of the whole line, so a crash or a kill can never leave
 * half a record behind a complete one. Files are fdatasync'ed after every line: a written line survives even a machine
 * crash. Pipes (stdout) get the same whole-line writes; EPIPE (the reader went away, e.g. `| head`) is reported as such.
 */
export class JsonlSink {
  private closed = false;
  linesWritten = 0;

  private constructor(
    private readonly fd: number,
    private readonly durable: boolean,
    readonly target: string,
    private readonly ownsFd: boolean,
  ) {}

  static stdout(): JsonlSink {
    return new JsonlSink(1, false, '<stdout>', false);
  }

  /** Opens `file` for writing: `append` keeps existing content (resume), otherwise the file must not already have content unless `overwrite`. */
  static file(file: string, mode: 'create' | 'overwrite' | 'append'): JsonlSink {
    const flags = mode === 'append' ? 'a' : mode === 'overwrite' ? 'w' : 'wx';
    const fd = fs.openSync(file, flags);
    return new JsonlSink(fd, true, file, true);
  }

  write(record: object): void {
    if (this.closed) throw new Error('sink is closed');
    const bytes = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    writeFully(this.fd, bytes);
    if (this.durable) fs.fdatasyncSync(this.fd);
    this.linesWritten++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) fs.closeSync(this.fd);
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
