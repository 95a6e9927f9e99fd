import { runGenerateJob } from '../job/generateJob';
import { DEFAULT_BATCH_SIZE } from '../job/jobOptions';
import { Report } from '../diagnostics/report';
import { FailOn } from '../diagnostics/gate';
import { ParamName } from '../params/generationParams';
import { parseDtype } from '../model/dtype';
import { DEFAULT_MODEL_ID } from '../model/modelSource';
import { RuntimeChoice } from '../runtime/createRunner';
import { checkOptionNames, checkOptionValues, inApiTerms, runWideFlags } from './apiOptions';
import { CONSTRAINT_PARAMS } from '../params/constraintParams';
import { settingKey } from '../params/settingKey';
import { defaultConstraintProblem } from '../job/structuredOutputs';

/** One request: the same object as a JSONL input line (`{"id", "prompt" | "messages", ...parameters}`), or the line's text. */
export type GenerateRequest = Record<string, unknown> | string;

/** Parameters given for every request, by their JSONL names (a request's own values win); those with a CLI flag only. */
export type GenerateDefaults = Partial<Record<ParamName, unknown>>;

/**
 * Options of `generate()`. Generation parameters with a run-wide value (those with a CLI flag: `max_tokens`,
 * `temperature`, `stop`, …) may also be given at the top level by their JSONL names: `{ max_tokens: 64 }` is
 * `{ defaults: { max_tokens: 64 } }`. Any other name is an error naming the closest known option.
 */
export interface GenerateOptions extends GenerateDefaults {
  /** "tiny", a model folder or a hub id (default: onnx-community/Qwen3-0.6B-ONNX). */
  model?: string;
  /** Graph variant (default auto). */
  dtype?: string;
  revision?: string;
  offline?: boolean;
  hubUrl?: string;
  batchSize?: number;
  maxBatchTokens?: number;
  /** Bytes for KV cache, logits and activations (default: half of the available memory, within the cgroup limit). */
  maxMemory?: number;
  /** Automatic prefix caching (default on): prompt prefixes shared by several requests are computed once. */
  prefixCache?: boolean;
  /** Defaults for every request, e.g. `{ temperature: 0, max_tokens: 64 }` (checked like JSONL fields). */
  defaults?: GenerateDefaults;
  /** Greedy decoding by default (cannot be combined with defaults.temperature). */
  greedy?: boolean;
  escapeSpecialTokens?: boolean;
  tokenIds?: boolean;
  echoParams?: boolean;
  format?: 'auto' | 'qwen-gen' | 'openai';
  /** Yield records in input order (held until their predecessors are out) instead of completion order. */
  ordered?: boolean;
  /** Copy unknown top-level request fields to the records instead of refusing the request. */
  keepFields?: boolean;
  threads?: number;
  device?: 'cpu' | 'cuda';
  /** What runs the graph (default auto: the direct runtime where it loads). */
  runtime?: RuntimeChoice;
  /** Stops admitting work when aborted; the records of finished requests have all been yielded. */
  signal?: AbortSignal;
  /** Messages qwen-gen would print on stderr (warnings). */
  onLog?: (message: string) => void;
  /** The diagnostics report, once the run has ended. */
  onReport?: (report: Report) => void;
  failOn?: FailOn;
  /** Finding codes left out of the gate and the report (the CLI's --ignore-finding). */
  ignoreFindings?: string[];
}

/** An output record: the same object as a line of qwen-gen's JSONL output (docs in the README, "Output"). */
export type GenerationRecord = Record<string, unknown>;

/**
 * Generates a completion for every request and yields the output records as requests finish (completion order; each
 * record carries its `id` and `index`). Invalid requests yield error records, as in the CLI. Throws an Error with a
 * user-facing message for unusable options or models.
 *
 * ```js
 * const { generate } = require('qwen-gen');
 * for await (const record of generate([{ id: 1, prompt: 'Hello' }], { model: 'tiny', defaults: { max_tokens: 8 } })) {
 *   console.log(record.id, record.text);
 * }
 * ```
 */
export function generate(requests: Iterable<GenerateRequest>, options: GenerateOptions = {}): AsyncIterable<GenerationRecord> {
  return {
    [Symbol.asyncIterator]: () => run(requests, options)[Symbol.asyncIterator](),
  };
}

async function* run(requests: Iterable<GenerateRequest>, options: GenerateOptions): AsyncGenerator<GenerationRecord> {
  checkOptionNames(options);
  checkOptionValues(options as Record<string, unknown>);
  const flags = runWideFlags(options as Record<string, unknown>);
  let dtype: ReturnType<typeof parseDtype>;
  try {
    dtype = parseDtype(options.dtype ?? 'auto');
  } catch (error) {
    throw inApiTerms(error);
  }
  // One run-wide constraint at most, and one xgrammar can compile: checked before the model loads.
  const constraints = CONSTRAINT_PARAMS.filter((name) => (flags as Record<string, unknown>)[settingKey(name)] != null);
  if (constraints.length > 1) throw new Error(`generate(): ${constraints[0]} and ${constraints[1]} conflict; a run takes one output constraint`);
  const constraintProblem = await defaultConstraintProblem(flags);
  if (constraintProblem) throw new Error(`generate(): ${constraintProblem.param} ${constraintProblem.message}`);
  const text = [...requests].map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
  const queue: GenerationRecord[] = [];
  let wake: (() => void) | null = null;
  let finished = false;
  let failure: unknown = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  const job = runGenerateJob({
    input: new TextEncoder().encode(text),
    model: options.model ?? DEFAULT_MODEL_ID,
    overwrite: false,
    signal: options.signal,
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    maxBatchTokens: options.maxBatchTokens,
    maxMemory: options.maxMemory,
    prefixCache: options.prefixCache,
    tokenIds: options.tokenIds ?? false,
    echoParams: options.echoParams ?? false,
    format: options.format ?? 'auto',
    strict: false,
    ordered: options.ordered,
    keepFields: options.keepFields,
    reportFormat: 'json',
    failOn: options.failOn ?? 'error',
    ignoreFindings: options.ignoreFindings,
    flags,
    load: {
      threads: options.threads,
      device: options.device ?? 'cpu',
      runtime: options.runtime,
      modelArgument: 'option',
      dtype,
      revision: options.revision ?? 'main',
      offline: options.offline,
      hubUrl: options.hubUrl,
      onWarning: (message) => options.onLog?.(`warning: ${message}`),
    },
    onRecord: (record) => {
      queue.push(record as GenerationRecord);
      notify();
    },
    log: (message) => options.onLog?.(message),
  }).then(
    (result) => {
      if (result.report) options.onReport?.(result.report);
    },
    (error: unknown) => {
      failure = error;
    },
  ).finally(() => {
    finished = true;
    notify();
  });
  while (true) {
    if (queue.length > 0) {
      yield queue.shift()!;
      continue;
    }
    if (finished) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  await job;
  if (failure) throw inApiTerms(failure);
}
