import * as fs from 'node:fs';
import { ExitCode, UserError } from '../cli/exitCodes';
import { Finding } from '../diagnostics/finding';
import { modelFindings } from '../diagnostics/modelFindings';
import { runGeneration } from '../engine/generationEngine';
import { FinishedSequence, SequenceSpec } from '../engine/sequence';
import { InputFileError } from '../input/errors';
import { readRequests } from '../input/readRequests';
import { GenerationRequest, InputError } from '../input/request';
import { loadModel, LoadModelOptions } from '../model/loadModel';
import { completionRecord, errorRecord, SampleResult } from '../output/completionRecord';
import { JsonlSink } from '../output/jsonlSink';
import { SequenceOutput } from '../output/sequenceOutput';
import { RequestSampler } from '../sample/sampler';
import { resolveSampleSeed } from '../sample/seededRng';
import { encodePrompt } from '../tokenize/promptEncoder';
import { GenerationFlags, requestSettings, RequestSettings, resolveDefaults } from './generationDefaults';
import { settingsFingerprint } from './settingsFingerprint';

export interface GenerateJobOptions {
  /** Input JSONL path; '-' or undefined reads stdin. */
  input?: string;
  model: string;
  output?: string;
  overwrite: boolean;
  batchSize: number;
  maxBatchTokens?: number;
  tokenIds: boolean;
  reportFile?: string;
  flags: GenerationFlags;
  load: LoadModelOptions;
  /** Called after every finished request (progress bars). */
  onProgress?: (done: number, total: number, generatedTokens: number) => void;
  log: (message: string) => void;
}

/** What one request carries through the engine. */
interface RequestJob {
  request: GenerationRequest;
  settings: RequestSettings;
  promptIds: number[];
  samples: (SampleResult | undefined)[];
  outputs: SequenceOutput[];
}

/** The generate pipeline: input → tokenize → schedule/run/sample (engine) → output, with diagnostics alongside. */
export async function runGenerateJob(options: GenerateJobOptions): Promise<number> {
  const source = options.input === undefined || options.input === '-' ? process.stdin : options.input;
  if (typeof source === 'string' && !fs.existsSync(source)) throw new UserError(`input file ${source} does not exist`);
  let parsed;
  try {
    parsed = await readRequests(source);
  } catch (error) {
    if (error instanceof InputFileError) throw new UserError(error.message);
    throw error;
  }

  const model = await loadModel(options.model, options.load);
  const findings: Finding[] = modelFindings(model);
  for (const finding of findings) if (finding.severity !== 'info') options.log(`${finding.severity}: ${finding.message}`);

  const defaults = resolveDefaults(model.folder.generationConfig, options.flags);
  const settings = settingsFingerprint(model, defaults);
  const sink = options.output
    ? openFileSink(options.output, options.overwrite)
    : JsonlSink.stdout();

  let failed = 0;
  try {
    const writeInputError = (error: InputError) => {
      failed++;
      sink.write(errorRecord(error.id, error.index, error, settings));
    };
    parsed.errors.forEach(writeInputError);

    const jobs: RequestJob[] = [];
    for (const request of parsed.requests) {
      const job = prepareRequest(request, defaults, model);
      if ('error' in job) {
        writeInputError(job.error);
        continue;
      }
      jobs.push(job);
    }

    const specs: SequenceSpec<RequestJob>[] = jobs.flatMap((job) =>
      job.outputs.map((output, sampleIndex) => ({
        request: job,
        sampleIndex,
        promptIds: job.promptIds,
        stop: output,
        sampler: new RequestSampler(
          {
            temperature: job.settings.temperature,
            topK: job.settings.topK,
            topP: job.settings.topP,
            minP: job.settings.minP,
            repetitionPenalty: job.settings.repetitionPenalty,
            presencePenalty: job.settings.presencePenalty,
            frequencyPenalty: job.settings.frequencyPenalty,
            logprobs: job.settings.logprobs,
            seed: resolveSampleSeed({ requestSeed: job.settings.requestSeed, globalSeed: job.settings.seed, requestId: job.request.id, sampleIndex }),
          },
          job.promptIds,
          { minTokens: job.settings.minTokens, minTokensBlockedIds: stopTokenIds(job.settings, model.tokens.eosTokenIds) },
        ),
      })),
    );

    let done = 0;
    let generatedTokens = 0;
    const onFinished = (sequence: FinishedSequence<RequestJob>) => {
      const job = sequence.spec.request;
      const output = job.outputs[sequence.spec.sampleIndex];
      job.samples[sequence.spec.sampleIndex] = {
        text: output.text,
        finishReason: sequence.finishReason,
        tokenIds: sequence.tokenIds,
        choices: sequence.choices,
        stopString: output.stopString,
        stopTokenId: sequence.stopTokenId,
      };
      generatedTokens += sequence.tokenIds.length;
      if (job.samples.every((s) => s !== undefined)) {
        sink.write(
          completionRecord({
            id: job.request.id,
            index: job.request.index,
            promptTokens: job.promptIds.length,
            samples: job.samples as SampleResult[],
            settings,
            includeTokenIds: options.tokenIds,
            metadata: job.request.metadata,
          }),
        );
        done++;
        options.onProgress?.(done, jobs.length, generatedTokens);
      }
    };

    const maxBatchTokens = options.maxBatchTokens ?? defaultMaxBatchTokens(model.runner.inputs.hasLogitsToKeep, model.vocabSize);
    const batchSize = model.runner.inputs.hasAttentionMask ? options.batchSize : 1;
    await runGeneration(model.runner, model.protocol, specs, { batchSize, maxBatchTokens }, onFinished);

    if (options.reportFile) {
      fs.writeFileSync(options.reportFile, JSON.stringify({ version: 1, findings }, null, 2) + '\n');
    }
  } finally {
    sink.close();
    await model.runner.release();
  }
  return failed > 0 ? ExitCode.someFailed : ExitCode.ok;

  function prepareRequest(request: GenerationRequest, defaults: ReturnType<typeof resolveDefaults>, m: typeof model): RequestJob | { error: InputError } {
    const settings = requestSettings(defaults, request.params);
    const promptIds = encodePrompt(m.tokenizer, request, { enableThinking: settings.enableThinking });
    if (promptIds.length === 0) {
      return { error: { line: request.line, index: request.index, id: request.id, code: 'empty_prompt', message: `line ${request.line}: the prompt has no tokens` } as InputError };
    }
    if (promptIds.length >= m.contextLength) {
      return {
        error: {
          line: request.line, index: request.index, id: request.id, code: 'context_overflow' as InputError['code'],
          message: `line ${request.line}: the prompt has ${promptIds.length} tokens; the model's context is ${m.contextLength}`,
        },
      };
    }
    settings.maxTokens = Math.min(settings.maxTokens, m.contextLength - promptIds.length);
    const stopIds = new Set(stopTokenIds(settings, m.tokens.eosTokenIds));
    const outputs = Array.from({ length: settings.n }, () =>
      new SequenceOutput(m.tokenizer, {
        maxTokens: settings.maxTokens,
        minTokens: settings.minTokens,
        stopTokenIds: stopIds,
        stopStrings: settings.stop,
        includeStopStrInOutput: settings.includeStopStrInOutput,
      }),
    );
    return { request, settings, promptIds, samples: new Array(settings.n).fill(undefined), outputs };
  }
}

function stopTokenIds(settings: RequestSettings, eosTokenIds: number[]): number[] {
  return [...(settings.ignoreEos ? [] : eosTokenIds), ...settings.stopTokenIds];
}

/**
 * Without `num_logits_to_keep` the graph returns logits for every prompt position ([B, S, vocab] float32), so the prefill
 * token budget is what bounds that buffer: 256 MB of logits at most.
 */
function defaultMaxBatchTokens(hasLogitsToKeep: boolean, vocabSize: number): number {
  if (hasLogitsToKeep || vocabSize <= 0) return 4096;
  return Math.max(64, Math.floor((256 * 1024 * 1024) / (vocabSize * 4)));
}

function openFileSink(file: string, overwrite: boolean): JsonlSink {
  try {
    return JsonlSink.file(file, overwrite ? 'overwrite' : 'create');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UserError(`output file ${file} already exists; use --overwrite to replace it or --resume to continue it`);
    throw new UserError(`cannot open output file ${file}: ${(error as Error).message}`);
  }
}
