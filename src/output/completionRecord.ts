import { FinishReason, TokenChoice } from '../engine/sequence';

/** One sample's result, as the output processor finished it. */
export interface SampleResult {
  text: string;
  finishReason: FinishReason;
  tokenIds: number[];
  choices: TokenChoice[];
  stopString: string | null;
  stopTokenId?: number;
}

export interface CompletionRecordInput {
  id: string | number;
  index: number;
  promptTokens: number;
  samples: SampleResult[];
  settings: string;
  includeTokenIds: boolean;
  metadata?: Record<string, unknown>;
}

/**
 * The output line of a finished request: `text`, `finish_reason` and `usage` (as OpenAI and vLLM report them), plus
 * `choices` when the request asked for several samples (`text` is then the first sample's).
 */
export function completionRecord(input: CompletionRecordInput): Record<string, unknown> {
  const [first] = input.samples;
  const record: Record<string, unknown> = {
    id: input.id,
    index: input.index,
    text: first.text,
    finish_reason: first.finishReason,
  };
  if (first.stopString !== null) record.stop = first.stopString;
  record.usage = {
    prompt_tokens: input.promptTokens,
    completion_tokens: input.samples.reduce((sum, s) => sum + s.tokenIds.length, 0),
  };
  if (input.includeTokenIds) record.completion_token_ids = first.tokenIds;
  if (input.samples.length > 1) {
    record.choices = input.samples.map((sample, i) => {
      const choice: Record<string, unknown> = { index: i, text: sample.text, finish_reason: sample.finishReason };
      if (sample.stopString !== null) choice.stop = sample.stopString;
      if (input.includeTokenIds) choice.completion_token_ids = sample.tokenIds;
      return choice;
    });
  }
  if (input.metadata) record.metadata = input.metadata;
  record.settings = input.settings;
  return record;
}

export function errorRecord(id: string | number | undefined, index: number, error: { code: string; message: string; line?: number }, settings?: string): Record<string, unknown> {
  const record: Record<string, unknown> = { id: id ?? null, index, error: { code: error.code, message: error.message, line: error.line ?? null } };
  if (settings) record.settings = settings;
  return record;
}
