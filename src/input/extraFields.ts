import { LineProblem } from './errors';
import { suggestKey, unknownFieldProblem } from './unknownField';

/** How a line's unknown top-level fields are treated. */
export interface LineParseOptions {
  /** --keep-fields: copy unknown top-level fields (a dataset's `answer`, `label`, …) to the output record. */
  keepFields?: boolean;
}

/** Output record fields an input field may not shadow (qwen-gen and OpenAI Batch output lines). */
const OUTPUT_FIELDS = [
  'id', 'index', 'text', 'reasoning', 'reasoning_unfinished', 'finish_reason', 'stop', 'completion_token_ids', 'logprobs',
  'usage', 'choices', 'metadata', 'params', 'settings', 'error', 'custom_id', 'response',
];

/**
 * An unknown top-level field: refused by default (a misspelt parameter must not be silently ignored), kept with
 * --keep-fields — unless it is one letter away from a known field (still a typo) or would shadow an output field.
 */
export function extraField(key: string, knownKeys: readonly string[], options: LineParseOptions): void {
  if (!options.keepFields) {
    const problem = unknownFieldProblem(key, '', knownKeys);
    if (suggestKey(key, knownKeys) !== undefined) throw problem;
    throw new LineProblem('unknown_field', `${problem.detail}; to copy extra fields such as this one to the output record, use --keep-fields`, key);
  }
  if (suggestKey(key, knownKeys) !== undefined) throw unknownFieldProblem(key, '', knownKeys);
  if (OUTPUT_FIELDS.includes(key)) {
    throw new LineProblem('unknown_field', `field "${key}" cannot be kept: the output record has its own "${key}"`, key);
  }
}
