import { createReadStream } from 'node:fs';
import { physicalLines } from '../input/physicalLines';

export interface FileLine {
  /** 1-based physical line number. */
  lineNumber: number;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
  /** The line's bytes without the `\n` (valid only until the next iteration). */
  bytes: Buffer;
  /** False for a last line that has no `\n` after it. */
  terminated: boolean;
}

/** Streams a file's lines with their byte offsets (the one line splitter, input/physicalLines.ts). */
export async function* readLines(path: string): AsyncGenerator<FileLine> {
  for await (const line of physicalLines(createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)) {
    yield { lineNumber: line.lineNumber, offset: line.offset, bytes: line.bytes!, terminated: line.terminated };
  }
}

/** The line as text, without a trailing `\r` or a UTF-8 byte order mark. */
export function lineText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  const withoutCr = text.endsWith('\r') ? text.slice(0, -1) : text;
  return withoutCr.charCodeAt(0) === 0xfeff ? withoutCr.slice(1) : withoutCr;
}
