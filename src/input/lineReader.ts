import { createReadStream } from 'fs';
import { InputFileError } from './errors';
import { physicalLines } from './physicalLines';
import { decodeUtf8Strict, firstInvalidUtf8Offset } from './utf8';

/** A file path, bytes already in memory, or a stream such as process.stdin (any async iterable of chunks). */
export type InputSource = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/**
 * One non-blank physical line. `line` is 1-based over physical lines; `index` is 0-based over non-blank
 * lines (see request.ts). Lines that are not text still get a line number and an index, so they can be
 * reported as errors in place.
 */
export type InputLine =
  | { kind: 'text'; line: number; index: number; text: string }
  | { kind: 'invalid_utf8'; line: number; index: number; byteOffset: number }
  | { kind: 'too_long'; line: number; index: number; byteLength: number };

export interface LineReaderOptions {
  /** Lines longer than this are reported as `too_long` without being held in memory. Default 64 MiB. */
  maxLineBytes?: number;
  /** Name used in InputFileError messages; defaults to the path, or "input". */
  sourceName?: string;
}

/** Async iterable of the non-blank lines; can be iterated once. */
export interface LineStream extends AsyncIterable<InputLine> {
  /** Physical lines seen so far (blank ones included); final once iteration has ended. */
  readonly physicalLineCount: number;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
const CARRIAGE_RETURN = 0x0d;
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Streams `source` as lines split on "\n" at the byte level (so a multi-byte character split across
 * chunks, or an invalid byte, is seen as it really is). Strips a UTF-8 BOM at the start of a line (the
 * first, or any line of concatenated files) and one trailing "\r" (CRLF files); skips lines that are
 * empty or whitespace-only (as String.prototype.trim sees it).
 */
export function readLines(source: InputSource, options: LineReaderOptions = {}): LineStream {
  return new JsonlLineStream(source, options);
}

/** Reads the whole source; for inputs that fit in memory. */
export async function readAllLines(
  source: InputSource,
  options: LineReaderOptions = {},
): Promise<{ lines: InputLine[]; physicalLineCount: number }> {
  const stream = readLines(source, options);
  const lines: InputLine[] = [];
  for await (const line of stream) lines.push(line);
  return { lines, physicalLineCount: stream.physicalLineCount };
}

export function describeSource(source: InputSource, options: LineReaderOptions): string {
  if (options.sourceName !== undefined) return options.sourceName;
  return typeof source === 'string' ? source : 'input';
}

class JsonlLineStream implements LineStream {
  private lineCount = 0;
  private nonBlankCount = 0;
  private started = false;

  constructor(
    private readonly source: InputSource,
    private readonly options: LineReaderOptions,
  ) {}

  get physicalLineCount(): number {
    return this.lineCount;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<InputLine, void, undefined> {
    if (this.started) throw new Error('a LineStream can be iterated only once');
    this.started = true;
    const maxLineBytes = this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    try {
      for await (const physical of physicalLines(chunksOf(this.source), maxLineBytes)) {
        const line = this.classify(physical.bytes, physical.byteLength);
        if (line) yield line;
      }
    } catch (error) {
      throw asInputFileError(error, describeSource(this.source, this.options));
    }
  }

  /** Turns one physical line (bytes without its "\n"; undefined when over the limit) into an InputLine. */
  private classify(rawBytes: Buffer | undefined, byteLength: number): InputLine | undefined {
    const line = ++this.lineCount;
    if (rawBytes === undefined) return { kind: 'too_long', line, index: this.nonBlankCount++, byteLength };
    let bytes = rawBytes;
    // Not only on line 1: files concatenated with `cat` carry a BOM mid-file, and no JSON line can start with U+FEFF.
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN) bytes = bytes.subarray(0, bytes.length - 1);
    const text = decodeUtf8Strict(bytes);
    if (text === undefined) {
      return { kind: 'invalid_utf8', line, index: this.nonBlankCount++, byteOffset: firstInvalidUtf8Offset(bytes) };
    }
    if (text.trim() === '') return undefined;
    return { kind: 'text', line, index: this.nonBlankCount++, text };
  }
}

async function* chunksOf(source: InputSource): AsyncGenerator<Buffer> {
  if (typeof source === 'string') {
    yield* chunksOf(createReadStream(source, { highWaterMark: READ_CHUNK_BYTES }));
    return;
  }
  if (source instanceof Uint8Array) {
    yield Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return;
  }
  for await (const chunk of source) {
    yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

const FS_ERROR_TEXT: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'it is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EMFILE: 'too many open files',
};

function asInputFileError(error: unknown, name: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error;
  const reason = FS_ERROR_TEXT[code] ?? `${code}: ${(error as Error).message}`;
  return new InputFileError(`cannot read input "${name}": ${reason}`);
}
