import { describeValue, LineProblem } from './errors';
import { idOrUndefined } from './fields';
import type { InputLine } from './lineReader';
import { isOpenAiBatchShape, parseOpenAiBatchLine } from './openaiBatchLine';
import { parseQwenGenLine } from './qwenGenLine';
import type { LineParseOptions } from './extraFields';
import type { GenerationRequest, InputError, InputFormat } from './request';
import { findForbiddenKey, isPlainObject, parseJsonLine } from './safeJson';

export type ParsedLine =
  /** `implicitId` marks a qwen-gen line without "id", whose id is therefore its line number. */
  | { ok: true; request: GenerationRequest; format: InputFormat; implicitId: boolean }
  /** `format` is the shape the line had, when it was at least a JSON object. */
  | { ok: false; error: InputError; format?: InputFormat };

/**
 * Validates one line on its own (no duplicate-id or cross-line checks: see RequestSequenceChecker).
 * Never throws for bad input; the first problem found becomes the InputError.
 */
export function parseRequestLine(text: string, line: number, index: number, options: LineParseOptions = {}): ParsedLine {
  let format: InputFormat | undefined;
  let id: string | number | undefined;
  try {
    const value = parseJsonLine(text);
    if (!isPlainObject(value)) throw new LineProblem('not_an_object', `a request must be a JSON object, got ${describeValue(value)}`);
    format = isOpenAiBatchShape(value) ? 'openai' : 'qwen-gen';
    id = format === 'openai' ? idOrUndefined(value.custom_id) : Object.hasOwn(value, 'id') ? idOrUndefined(value.id) : line;
    const forbidden = findForbiddenKey(value);
    if (forbidden !== undefined) {
      throw new LineProblem(
        'forbidden_key',
        `field "${forbidden}" is not allowed (the keys "__proto__", "constructor" and "prototype" are refused anywhere in a line)`,
        forbidden,
      );
    }
    const request = format === 'openai' ? parseOpenAiBatchLine(value, line, index, options) : parseQwenGenLine(value, line, index, options);
    return { ok: true, request, format, implicitId: format === 'qwen-gen' && !Object.hasOwn(value, 'id') };
  } catch (problem) {
    if (!(problem instanceof LineProblem)) throw problem;
    return { ok: false, error: lineError(problem, line, index, id), format };
  }
}

/** parseRequestLine for a line from the line reader, including lines that are not valid text. */
export function parseInputLine(input: InputLine, options: LineParseOptions = {}): ParsedLine {
  const { line, index } = input;
  switch (input.kind) {
    case 'text':
      return parseRequestLine(input.text, line, index, options);
    case 'invalid_utf8':
      return {
        ok: false,
        error: lineError(new LineProblem('invalid_utf8', `not valid UTF-8 (first bad byte at byte offset ${input.byteOffset} of the line)`), line, index),
      };
    case 'too_long':
      return {
        ok: false,
        error: lineError(new LineProblem('line_too_long', `the line is ${input.byteLength} bytes long, over the limit for one request line`), line, index),
      };
  }
}

export function lineError(problem: LineProblem, line: number, index: number, id?: string | number): InputError {
  return {
    line,
    index,
    ...(id !== undefined && { id }),
    code: problem.code,
    ...(problem.field !== undefined && { field: problem.field }),
    message: `line ${line}: ${problem.detail}`,
  };
}
