const NEWLINE = 0x0a;

/** One physical line of a byte stream: the bytes between two `\n` (neither included). */
export interface PhysicalLine {
  /** 1-based. */
  lineNumber: number;
  /** Byte offset of the line's first byte in the stream. */
  offset: number;
  /** The line's bytes without the `\n`; undefined when longer than `maxLineBytes` (never held in memory then). */
  bytes: Buffer | undefined;
  byteLength: number;
  /** False for a last line that has no `\n` after it. */
  terminated: boolean;
}

/**
 * The one line splitter: splits a stream of chunks on `\n` bytes (so a multi-byte UTF-8 character is never cut, and an
 * invalid byte is seen as it is), with each line's byte offset, so a caller can index a large file and copy lines back
 * byte for byte later. A line within one chunk is a view of it (valid until the next chunk is read); a line spanning
 * chunks is copied (a source may reuse its chunk buffers). A last line without `\n` is yielded unless empty.
 */
export async function* physicalLines(chunks: AsyncIterable<Buffer>, maxLineBytes = Infinity): AsyncGenerator<PhysicalLine> {
  let pieces: Buffer[] = [];
  let lineBytes = 0;
  let lineNumber = 0;
  let offset = 0;
  const line = (tail: Buffer, terminated: boolean): PhysicalLine => {
    const byteLength = lineBytes + tail.length;
    let bytes: Buffer | undefined;
    if (byteLength > maxLineBytes) bytes = undefined;
    else bytes = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail], byteLength);
    const result = { lineNumber: ++lineNumber, offset, bytes, byteLength, terminated };
    offset += byteLength + (terminated ? 1 : 0);
    pieces = [];
    lineBytes = 0;
    return result;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let newline = chunk.indexOf(NEWLINE, start); newline !== -1; newline = chunk.indexOf(NEWLINE, start)) {
      yield line(chunk.subarray(start, newline), true);
      start = newline + 1;
    }
    if (start < chunk.length) {
      lineBytes += chunk.length - start;
      if (lineBytes > maxLineBytes) pieces = [];
      else pieces.push(Buffer.from(chunk.subarray(start)));
    }
  }
  if (lineBytes > 0) yield line(Buffer.alloc(0), false);
}
