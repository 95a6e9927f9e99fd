import { EngineStats } from '../engine/engineStats';
import { BatchRunner } from '../padding/batchRunner';
import { runGenerationRetryingFailedSteps } from '../engine/retryFailedSteps';
import { LoadedModel } from '../model/loadModel';
import { effectiveBatchSize } from '../schedule/batchingSupport';
import { GenerateJobOptions } from './jobOptions';
import { memoryPlan } from './memoryPlan';
import { checkMemoryFloor } from './memoryFloor';
import { PreparedRequest, sequenceSpecs } from './preparedRequest';
import { RecordWriter } from './recordWriter';
import { RunDiagnostics } from './runDiagnostics';
import { SampleGatherer } from './sampleGatherer';
import { SequenceHandlers } from './sequenceHandlers';
import { StageTimer } from './stageTimer';

export interface EngineRun {
  stats: EngineStats;
  /** Requests neither written nor failed because the run was aborted. */
  unfinished: number;
}

type EngineRunOptions = Pick<
  GenerateJobOptions,
  'batchSize' | 'maxBatchTokens' | 'maxMemory' | 'prefixCache' | 'signal' | 'steps' | 'echoParams' | 'onProgress' | 'onStart' | 'onToken' | 'log'
>;

export interface EngineRunContext {
  model: LoadedModel;
  settings: string;
  records: RecordWriter;
  diagnostics: RunDiagnostics;
  timer: StageTimer;
}

/** Step 4: runs every sample of every prepared request through the engine; records are written as requests complete. */
export async function runEngine(prepared: readonly PreparedRequest[], context: EngineRunContext, options: EngineRunOptions): Promise<EngineRun> {
  const { model, timer } = context;
  const specs = prepared.flatMap((request) => sequenceSpecs(request, model));
  const memory = memoryPlan(model, options);
  if (options.maxMemory !== undefined) {
    const longest = Math.max(0, ...prepared.map((request) => request.promptIds.length + request.settings.maxTokens));
    checkMemoryFloor(memory, longest, (budgetBytes) => memoryPlan(model, { ...options, maxMemory: budgetBytes }));
  }
  const handlers = new SequenceHandlers({
    model,
    records: context.records,
    diagnostics: context.diagnostics,
    gatherer: new SampleGatherer({ settings: context.settings, echoParams: options.echoParams }),
    total: prepared.length,
    onProgress: options.onProgress,
    log: options.log,
  });
  const limits = {
    batchSize: effectiveBatchSize(model.graph, options.batchSize),
    maxBatchTokens: memory.maxBatchTokens,
    maxCacheTokens: memory.maxCacheTokens,
    signal: options.signal,
    prefixCache: options.prefixCache,
    onToken: options.onToken,
  };
  options.onStart?.(prepared.length);
  // Steps counted while in flight (a second Ctrl-C waits for the one running).
  const batch = options.steps ? new BatchRunner(options.steps.track(model.runner), model.protocol) : model.batchRunner;
  const result = await runGenerationRetryingFailedSteps(batch, specs, limits, handlers.engineHandlers);
  timer.add('prefill', result.stats.prefillMs);
  timer.add('decode', result.stats.decodeMs);
  return { stats: result.stats, unfinished: new Set(result.unfinished.map((spec) => spec.request.prepared)).size };
}
