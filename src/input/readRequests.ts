import { describeSource, readLines, type InputLine, type InputSource, type LineReaderOptions } from './lineReader';
import { checkNotOtherFormat } from './sniffFormat';
import { parseInputLine, type ParsedLine } from './parseRequest';
import type { LineParseOptions } from './extraFields';
import type { GenerationRequest, InputError, InputFormat } from './request';
import { RequestSequenceChecker } from './requestSequence';

export type ReadRequestsOptions = LineReaderOptions & LineParseOptions;

export interface ReadRequestsResult {
  /** Valid requests in input order. */
  requests: GenerationRequest[];
  /** One per bad non-blank line, in input order. */
  errors: InputError[];
  format: InputFormat;
  /** Physical lines in the input, blank ones included. */
  lineCount: number;
  /** Non-blank lines; always requests.length + errors.length. */
  inputCount: number;
}

/** Validated lines one at a time, for inputs too large to hold; iterate once. */
export interface RequestStream extends AsyncIterable<ParsedLine> {
  /** See RequestSequenceChecker.format; final once iteration has ended. */
  readonly format: InputFormat;
  readonly lineCount: number;
  readonly inputCount: number;
}

/**
 * Streams validated lines. Throws InputFileError when the source cannot be read. An input with no non-blank line yields
 * nothing (like a shard that owns no request): the job reports it as the `empty_input` finding.
 */
export function streamRequests(source: InputSource, options: ReadRequestsOptions = {}): RequestStream {
  const lines = readLines(source, options);
  const checker = new RequestSequenceChecker();
  let inputCount = 0;
  return {
    get format() {
      return checker.format;
    },
    get lineCount() {
      return lines.physicalLineCount;
    },
    get inputCount() {
      return inputCount;
    },
    async *[Symbol.asyncIterator]() {
      // The first two non-blank lines are held until the file is known not to be a JSON array, CSV or TSV.
      const held: InputLine[] = [];
      const release = function* () {
        for (const line of held.splice(0)) {
          inputCount++;
          yield checker.check(parseInputLine(line, { keepFields: options.keepFields }));
        }
      };
      let sniffed = false;
      const sniff = () => {
        sniffed = true;
        checkNotOtherFormat(held.flatMap((line) => (line.kind === 'text' ? [line.text] : [])), describeSource(source, options));
      };
      for await (const line of lines) {
        if (!sniffed) {
          held.push(line);
          if (held.length < 2 && held[0].kind === 'text') continue;
          sniff();
          yield* release();
          continue;
        }
        inputCount++;
        yield checker.check(parseInputLine(line, { keepFields: options.keepFields }));
      }
      if (!sniffed) sniff();
      yield* release();
    },
  };
}

/** Reads and validates a whole JSONL request file (or stream, or bytes). */
export async function readRequests(source: InputSource, options: ReadRequestsOptions = {}): Promise<ReadRequestsResult> {
  const stream = streamRequests(source, options);
  const requests: GenerationRequest[] = [];
  const errors: InputError[] = [];
  for await (const parsed of stream) {
    if (parsed.ok) requests.push(parsed.request);
    else errors.push(parsed.error);
  }
  return { requests, errors, format: stream.format, lineCount: stream.lineCount, inputCount: stream.inputCount };
}
