import { EngineStats } from '../engine/engineStats';
import { runGenerationRetryingFailedSteps } from '../engine/retryFailedSteps';
import { LoadedModel } from '../engine/loadModel';
import { GraphInfo } from '../model/graphInfo';
import { MemoryPlan } from '../schedule/memoryBudget';
import { effectiveBatchSize } from '../schedule/batchingSupport';
import { GenerateJobOptions } from './jobOptions';
import { memoryPlan, runnerMemory } from './memoryPlan';
import { checkMemoryFloor } from './memoryFloor';
import { PreparedRequest, restartedSpec, sequenceSpecs } from './preparedRequest';
import { RecordWriter } from './recordWriter';
import { RunDiagnostics } from './runDiagnostics';
import { SampleGatherer } from './sampleGatherer';
import { SequenceHandlers } from './sequenceHandlers';
import { StageTimer } from './stageTimer';
import { maskHook, RunConstraints } from './structuredOutputs';

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
  /** Structured outputs of the run (compiled constraints, their figures). */
  constraints?: RunConstraints;
}

/** The engine's limits for a run on this graph and memory plan (a real run and a dry run alike). */
export function engineLimits(graph: GraphInfo, memory: MemoryPlan, options: Pick<GenerateJobOptions, 'batchSize' | 'prefixCache'>) {
  return {
    batchSize: effectiveBatchSize(graph, options.batchSize),
    maxBatchTokens: memory.maxBatchTokens,
    maxCacheTokens: memory.maxCacheTokens,
    prefixCache: options.prefixCache,
  };
}

/** Step 4: runs every sample of every prepared request through the engine; records are written as requests complete. */
export async function runEngine(prepared: readonly PreparedRequest[], context: EngineRunContext, options: EngineRunOptions): Promise<EngineRun> {
  const { model, timer } = context;
  const specs = prepared.flatMap((request) => sequenceSpecs(request, model, context.constraints ?? null));
  const source = runnerMemory(model.runner);
  const memory = memoryPlan(model, source, options);
  if (options.maxMemory !== undefined) {
    const longest = Math.max(0, ...prepared.map((request) => request.promptIds.length + request.settings.maxTokens));
    checkMemoryFloor(memory, longest, (budgetBytes) => memoryPlan(model, source, { ...options, maxMemory: budgetBytes }));
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
    ...engineLimits(model.graph, memory, options),
    signal: options.signal,
    onToken: options.onToken,
    // Structured outputs: every constrained row's next-token bitmask, ready before the step's tokens are chosen.
    beforeSampling: context.constraints ? maskHook(context.constraints.stats) : undefined,
  };
  options.onStart?.(prepared.length);
  // Steps counted while in flight (a second Ctrl-C waits for the one running).
  const batch = options.steps ? model.batchRunner.withRunner(options.steps.track(model.runner)) : model.batchRunner;
  const result = await runGenerationRetryingFailedSteps(batch, specs, limits, {
    ...handlers.engineHandlers,
    restart: (spec) => restartedSpec(spec, model, context.constraints ?? null),
  });
  timer.add('prefill', result.stats.prefillMs);
  timer.add('decode', result.stats.decodeMs);
  return { stats: result.stats, unfinished: new Set(result.unfinished.map((spec) => spec.request.prepared)).size };
}
