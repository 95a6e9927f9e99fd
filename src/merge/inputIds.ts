import { readLines } from '../input/lineReader';
import { parseInputLine } from '../input/parseRequest';
import { RequestId } from '../shard/requestId';
import { recordKey } from './recordKey';

export interface ExpectedRequest {
  /** Null when the line has no readable id (its output is an error record with `"id": null`). */
  id: RequestId | null;
  /** 0-based position among the input's non-blank lines (the `index` the engine writes). */
  index: number;
  /** 1-based physical line number. */
  line: number;
  /** How many input lines carry this id (more than 1 only when the input repeats an id). */
  count: number;
}

export interface ExpectedIds {
  /** By record key, in input order. */
  byKey: Map<string, ExpectedRequest>;
  /** Ids that appear on more than one input line. */
  repeatedIds: RequestId[];
}

/**
 * The requests an input JSONL file asks for, with the ids the engine gives them: it is read with the
 * engine's own line reader and line parser, so blank lines, BOMs, CRLF, invalid lines, `custom_id` and
 * line-number ids follow exactly the rules the shards used.
 */
export async function readExpectedIds(inputFile: string): Promise<ExpectedIds> {
  const byKey = new Map<string, ExpectedRequest>();
  const repeatedIds: RequestId[] = [];
  for await (const line of readLines(inputFile)) {
    const parsed = parseInputLine(line);
    const id = (parsed.ok ? parsed.request.id : parsed.error.id) ?? null;
    const key = recordKey(id, line.index) as string;
    const seen = byKey.get(key);
    if (seen) {
      if (seen.count === 1 && id !== null) repeatedIds.push(id);
      seen.count += 1;
    } else {
      byKey.set(key, { id, index: line.index, line: line.line, count: 1 });
    }
  }
  return { byKey, repeatedIds };
}
