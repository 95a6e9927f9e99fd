import { createReadStream } from 'node:fs';

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

/**
 * Streams a file's lines with their byte offsets, splitting on `\n` bytes (so multi-byte UTF-8
 * characters are never cut), so a caller can index a large file and copy lines back byte for byte later.
 */
export async function* readLines(path: string): AsyncGenerator<FileLine> {
  let carry: Buffer = Buffer.alloc(0);
  let carryOffset = 0;
  let lineNumber = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let newline = data.indexOf(0x0a, start); newline !== -1; newline = data.indexOf(0x0a, start)) {
      lineNumber += 1;
      yield { lineNumber, offset: carryOffset + start, bytes: data.subarray(start, newline), terminated: true };
      start = newline + 1;
    }
    carry = data.subarray(start);
    carryOffset += start;
  }
  if (carry.length > 0) yield { lineNumber: lineNumber + 1, offset: carryOffset, bytes: carry, terminated: false };
}

/** The line as text, without a trailing `\r` or a UTF-8 byte order mark. */
export function lineText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  const withoutCr = text.endsWith('\r') ? text.slice(0, -1) : text;
  return withoutCr.charCodeAt(0) === 0xfeff ? withoutCr.slice(1) : withoutCr;
}
