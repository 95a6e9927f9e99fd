import { FinishReason } from '../engine/sequence';
import { TokenLogprobEntry } from './tokenLogprobs';

/** One sample's result, as the output processor finished it. */
export interface SampleResult {
  text: string;
  /** Text inside `<think>…</think>` for chat requests (null when there was none). */
  reasoning: string | null;
  reasoningUnfinished: boolean;
  finishReason: FinishReason;
  tokenIds: number[];
  stopString: string | null;
  stopTokenId?: number;
  logprobs?: TokenLogprobEntry[];
}

/** A finished request, format-neutral: the record writers turn it into an output line. */
export interface CompletedRequest {
  id: string | number;
  index: number;
  customId?: string;
  promptTokens: number;
  samples: SampleResult[];
  settings: string;
  metadata?: Record<string, unknown>;
  /** --keep-fields: the input line's extra top-level fields, copied as they are (never shadowing an output field). */
  extra?: Record<string, unknown>;
  /** Effective parameters, present when --echo-params was given. */
  params?: Record<string, unknown>;
}

export interface RecordOptions {
  includeTokenIds: boolean;
}

function sampleFields(sample: SampleResult, options: RecordOptions): Record<string, unknown> {
  const fields: Record<string, unknown> = { text: sample.text };
  if (sample.reasoning !== null) fields.reasoning = sample.reasoning;
  if (sample.reasoningUnfinished) fields.reasoning_unfinished = true;
  fields.finish_reason = sample.finishReason;
  if (sample.stopString !== null) fields.stop = sample.stopString;
  if (options.includeTokenIds) fields.completion_token_ids = sample.tokenIds;
  if (sample.logprobs) fields.logprobs = sample.logprobs;
  return fields;
}

/**
 * The qwen-gen output line of a finished request: `text`, `finish_reason` and `usage` (as OpenAI and vLLM report them),
 * plus `choices` when the request asked for several samples (the top-level fields are then the first sample's).
 */
export function completionRecord(done: CompletedRequest, options: RecordOptions): Record<string, unknown> {
  const record: Record<string, unknown> = { id: done.id, index: done.index, ...sampleFields(done.samples[0], options) };
  record.usage = {
    prompt_tokens: done.promptTokens,
    completion_tokens: done.samples.reduce((sum, s) => sum + s.tokenIds.length, 0),
  };
  if (done.samples.length > 1) record.choices = done.samples.map((sample, index) => ({ index, ...sampleFields(sample, options) }));
  if (done.metadata) record.metadata = done.metadata;
  if (done.params) record.params = done.params;
  record.settings = done.settings;
  withExtra(record, done.extra);
  return record;
}

export interface FailedRequest {
  id: string | number | undefined;
  index: number;
  customId?: string;
  code: string;
  message: string;
  line?: number;
  settings?: string;
}

/** Appends kept input fields; input validation already refused any that would shadow an output field. */
export function withExtra(record: Record<string, unknown>, extra: Record<string, unknown> | undefined): Record<string, unknown> {
  for (const [key, value] of Object.entries(extra ?? {})) if (!Object.hasOwn(record, key)) record[key] = value;
  return record;
}

export function errorRecord(failed: FailedRequest): Record<string, unknown> {
  const record: Record<string, unknown> = {
    id: failed.id ?? null,
    index: failed.index,
    error: { code: failed.code, message: failed.message, line: failed.line ?? null },
  };
  if (failed.settings) record.settings = failed.settings;
  return record;
}
