import * as fs from 'node:fs';
import { ExitCode, UserError } from '../cli/exitCodes';
import { Finding } from '../diagnostics/finding';
import { FailOn, Report } from '../diagnostics';
import { runGenerationRetryingFailedSteps } from '../engine/retryFailedSteps';
import { EngineStats } from '../engine/engineStats';
import { FinishedSequence, SequenceSpec } from '../engine/sequence';
import { InputFileError } from '../input/errors';
import { readRequests } from '../input/readRequests';
import { GenerationRequest, InputFormat } from '../input/request';
import { loadModel, LoadModelOptions, LoadedModel } from '../model/loadModel';
import { CompletedRequest, completionRecord, errorRecord, FailedRequest } from '../output/completionRecord';
import { openaiBatchErrorRecord, openaiBatchRecord } from '../output/openaiBatchRecord';
import { splitReasoning } from '../output/reasoningSplit';
import { tokenLogprobs } from '../output/tokenLogprobs';
import { defaultMemoryBudget, MemoryPlan, planMemory } from '../schedule/memoryBudget';
import { ShardSpec } from '../shard/shardSpec';
import { shardOwns } from '../shard/assignShard';
import { GenerationFlags, resolveDefaults } from './generationDefaults';
import { echoedParams, prepareRequest, PreparedRequest, sequenceSpecs } from './preparedRequest';
import { OutputTarget } from './outputTarget';
import { settingsFingerprint } from './settingsFingerprint';
import { ReportFormat, RunDiagnostics } from './runDiagnostics';
import { StageTimer } from './stageTimer';

export type OutputFormat = 'auto' | 'qwen-gen' | 'openai';

export interface GenerateJobOptions {
  /** Input JSONL path; '-' or undefined reads stdin; bytes are JSONL content (the programmatic API). */
  input?: string | Uint8Array;
  model: string;
  output?: string;
  overwrite: boolean;
  /** Continue an existing `output` file: keep its complete lines, generate only the ids not done yet. */
  resume?: boolean;
  /** With `resume`: accept existing lines made with other generation settings. */
  force?: boolean;
  /** Aborting it stops admitting work; complete lines are already written (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  batchSize: number;
  maxBatchTokens?: number;
  /** Bytes for KV cache, logits and activations (default: half of the free memory). */
  maxMemory?: number;
  tokenIds: boolean;
  echoParams: boolean;
  format: OutputFormat;
  strict: boolean;
  shard?: ShardSpec;
  reportFile?: string;
  reportFormat: ReportFormat;
  failOn: FailOn;
  /** --ignore-finding codes. */
  ignoreFindings?: string[];
  flags: GenerationFlags;
  load: LoadModelOptions;
  /** Receives every output record instead of the output sink (the programmatic API). */
  onRecord?: (record: object) => void;
  /** Called after every finished request (progress bars). */
  onProgress?: (done: number, total: number, generatedTokens: number) => void;
  /** Generation starts (requests tokenized, prefill next): the progress bar appears. */
  onStart?: (total: number) => void;
  /** One token generated. */
  onToken?: () => void;
  /** Before a line is written to stdout (a progress bar on the same terminal clears its line). */
  beforeStdoutWrite?: () => void;
  log: (message: string) => void;
}

export interface GenerateJobResult {
  exitCode: number;
  findings: Finding[];
  report: Report | null;
  stats: EngineStats | null;
  stages: Record<string, number>;
  written: number;
  failed: number;
  /** The run was aborted (`signal`) before every request was done. */
  interrupted: boolean;
  /** Requests neither written nor failed because of the interruption. */
  unfinished: number;
}

/** The generate pipeline: input → tokenize → schedule/run/sample (engine) → output, with diagnostics alongside. */
export async function runGenerateJob(options: GenerateJobOptions): Promise<GenerateJobResult> {
  const started = performance.now();
  const timer = new StageTimer();

  // Input: every line becomes a request or an error record; nothing is lost for one bad line.
  const source = options.input === undefined || options.input === '-' ? process.stdin : options.input;
  const parsed = await timer.time('read', () => readInput(source));
  if (options.strict && parsed.errors.length > 0) {
    for (const error of parsed.errors) options.log(error.message);
    throw new UserError(`--strict: ${parsed.errors.length} input line(s) are invalid; nothing was generated`);
  }
  const owned = <T extends { id?: string | number; line: number }>(item: T) =>
    !options.shard || shardOwns(options.shard, item.id ?? item.line);
  const requests = parsed.requests.filter(owned);
  const inputErrors = parsed.errors.filter(owned);
  const format: InputFormat = options.format === 'auto' ? parsed.format : options.format;
  // Checked before the model loads, so a bad output path fails at once; --resume learns which ids are done.
  const output = await OutputTarget.prepare(
    { file: options.output, overwrite: options.overwrite, resume: options.resume ?? false, force: options.force ?? false, log: options.log },
    format,
  );
  const todo = requests.filter((request) => !output.alreadyDone(request.id));

  const model = await timer.time('load', () => loadModel(options.model, options.load));
  const diagnostics = new RunDiagnostics(model, {
    failOn: options.failOn,
    reportFile: options.reportFile,
    reportFormat: options.reportFormat,
    escapeSpecialTokens: options.flags.escapeSpecialTokens ?? false,
    requestedBatchSize: options.batchSize,
    ignoreFindings: options.ignoreFindings,
    explicitMaxTokens: options.flags.maxTokens !== undefined,
    log: options.log,
  });
  let report: Report | null = null;

  const defaults = resolveDefaults(model.folder.generationConfig, options.flags);
  const settings = settingsFingerprint(model, defaults);
  const sink = await output.open(settings);
  const write = (record: object) => {
    if (options.onRecord) return options.onRecord(record);
    if (!output.isFile) options.beforeStdoutWrite?.();
    timer.timeSync('write', () => sink.write(record));
  };
  const writeFailure = (failed: FailedRequest) =>
    write(format === 'openai' ? openaiBatchErrorRecord({ ...failed, settings }) : errorRecord({ ...failed, settings }));

  let failed = 0;
  let written = 0;
  let unfinished = 0;
  let interrupted = false;
  let stats: EngineStats | null = null;
  try {
    for (const error of inputErrors) {
      failed++;
      writeFailure({ id: error.id, index: error.index, code: error.code, message: error.message, line: error.line });
    }

    const prepared: PreparedRequest[] = [];
    timer.timeSync('tokenize', () => {
      for (const request of todo) {
        const preparation = prepareRequest(request, defaults, model);
        if (preparation.fit) diagnostics.addContextFit(preparation.fit);
        if (preparation.ok) {
          prepared.push(preparation.prepared);
          diagnostics.promptTokens += preparation.prepared.promptIds.length;
        } else {
          failed++;
          writeFailure({ id: request.id, index: request.index, customId: request.customId, code: preparation.code, message: preparation.message, line: request.line });
        }
      }
    });

    let done = 0;
    let generatedTokens = 0;
    const failedJobs = new Set<PreparedRequest>();
    const onFinished = (sequence: FinishedSequence<PreparedRequest>) => {
      const job = sequence.spec.request;
      if (failedJobs.has(job)) return; // another sample of it failed: its error record is written
      const output = job.outputs[sequence.spec.sampleIndex];
      const split = job.request.kind === 'messages' ? splitReasoning(output.text, { thinkingOpen: false }) : null;
      job.samples[sequence.spec.sampleIndex] = {
        text: split ? split.text : output.text,
        reasoning: split ? split.reasoning : null,
        reasoningUnfinished: split ? split.reasoningUnfinished : false,
        finishReason: sequence.finishReason,
        tokenIds: sequence.tokenIds,
        stopString: output.stopString,
        stopTokenId: sequence.stopTokenId,
        logprobs: job.settings.logprobs > 0 ? tokenLogprobs(model.tokenizer, sequence.choices) : undefined,
      };
      generatedTokens += sequence.tokenIds.length;
      diagnostics.completionTokens += sequence.tokenIds.length;
      diagnostics.addOutcome({ id: job.request.id, finishReason: sequence.finishReason, stopTokenId: sequence.stopTokenId, ignoreEos: job.settings.ignoreEos });
      if (job.samples.some((s) => s === undefined)) return;
      write(recordOf(job, model, settings, format, options));
      written++;
      done++;
      options.onProgress?.(done, prepared.length, generatedTokens);
    };

    const specs = prepared.flatMap((job) => sequenceSpecs(job, model.tokens.eosTokenIds, options.onToken));
    options.onStart?.(prepared.length);
    const memory = memoryPlan(model, options);
    // A graph without attention_mask (or that numbers positions by cache width) cannot be batched: run it row by row.
    const batchSize = diagnostics.batchable ? options.batchSize : 1;
    const onStepFailed = (spec: SequenceSpec<PreparedRequest>, failure: unknown) => {
      const job = spec.request;
      if (failedJobs.has(job)) return;
      failedJobs.add(job);
      failed++;
      done++;
      const request = job.request;
      const reason = failure instanceof Error ? failure.message : String(failure);
      const message = `line ${request.line}: the model failed on this request, also when run alone: ${reason}`;
      writeFailure({ id: request.id, index: request.index, customId: request.customId, code: 'runtime_error', message, line: request.line });
      options.onProgress?.(done, prepared.length, generatedTokens);
    };
    const onRetry = (rows: number, failure: unknown) =>
      options.log(`warning: a model step failed for ${rows} row(s) (${failure instanceof Error ? failure.message : String(failure)}); retrying them one at a time`);
    const result = await runGenerationRetryingFailedSteps(model.runner, model.protocol, specs, { batchSize, maxBatchTokens: memory.maxBatchTokens, maxCacheTokens: memory.maxCacheTokens, signal: options.signal }, {
      onFinished,
      onFailed: onStepFailed,
      onRetry,
    });
    unfinished = new Set(result.unfinished.map((spec) => spec.request)).size;
    interrupted = options.signal?.aborted === true && unfinished > 0;
    stats = result.stats;
    timer.add('prefill', stats.prefillMs);
    timer.add('decode', stats.decodeMs);

    report = diagnostics.finish({
      settings,
      requests,
      inputErrors,
      stats,
      stages: timer.stages,
      written,
      failed,
      totalMs: performance.now() - started,
      inputLines: parsed.inputCount,
    });
  } finally {
    sink.close();
    await model.runner.release();
  }
  const gate = report?.exit.code ?? 0;
  return {
    exitCode: interrupted ? ExitCode.interrupted : failed > 0 || gate !== 0 ? ExitCode.someFailed : ExitCode.ok,
    findings: report?.findings ?? diagnostics.modelLevel,
    report,
    stats,
    stages: timer.stages,
    written,
    failed,
    interrupted,
    unfinished,
  };
}

async function readInput(source: string | Uint8Array | NodeJS.ReadStream) {
  if (typeof source === 'string' && !fs.existsSync(source)) throw new UserError(`input file ${source} does not exist`);
  try {
    return await readRequests(source, { sourceName: typeof source === 'string' ? source : source instanceof Uint8Array ? '<requests>' : '<stdin>' });
  } catch (error) {
    if (error instanceof InputFileError) throw new UserError(error.message);
    throw error;
  }
}

function recordOf(job: PreparedRequest, model: LoadedModel, settings: string, format: InputFormat, options: GenerateJobOptions): object {
  const request: GenerationRequest = job.request;
  const done: CompletedRequest = {
    id: request.id,
    index: request.index,
    customId: request.customId,
    promptTokens: job.promptIds.length,
    samples: job.samples.map((s) => s!),
    settings,
    metadata: request.metadata,
    params: options.echoParams ? echoedParams(job.settings) : undefined,
  };
  return format === 'openai' ? openaiBatchRecord(done, model.spec) : completionRecord(done, { includeTokenIds: options.tokenIds });
}

/**
 * Splits --max-memory between one prefill step and the KV cache. When the graph returns logits for every prompt position
 * ([B, S, vocab] float32, ~600 KB per position on Qwen3), the prefill token budget is what bounds that buffer.
 */
function memoryPlan(model: LoadedModel, options: GenerateJobOptions): MemoryPlan {
  const config = (key: string, fallback: number) => (typeof model.folder.config[key] === 'number' ? (model.folder.config[key] as number) : fallback);
  return planMemory({
    budgetBytes: options.maxMemory ?? defaultMemoryBudget(),
    kv: model.runner.kvShape,
    vocabSize: model.vocabSize || 151936,
    hiddenSize: config('hidden_size', 1024),
    intermediateSize: config('intermediate_size', 3072),
    heads: config('num_attention_heads', 16),
    logits: model.runner.inputs.hasLogitsIndex || model.runner.inputs.hasLogitsToKeep ? 'one-per-row' : 'all-positions',
    requestedMaxBatchTokens: options.maxBatchTokens,
  });
}
