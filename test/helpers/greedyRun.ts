import { EngineStats } from '../../src/engine/engineStats';
import { runGeneration } from '../../src/engine/generationEngine';
import { SequenceSpec, TokenConstraint } from '../../src/engine/sequence';
import { LoadedModel } from '../../src/engine/loadModel';
import { BatchRunner } from '../../src/padding/batchRunner';
import { StepRunner } from '../../src/runtime/stepRunner';
import { PaddingProtocol } from '../../src/padding/paddingProtocol';
import { RequestSampler } from '../../src/sample/sampler';
import { GREEDY_PARAMS } from '../../src/sample/samplingParams';

export interface GreedyRunOptions {
  batchSize: number;
  maxTokens: number | number[];
  maxBatchTokens?: number;
  runner?: StepRunner;
  protocol?: PaddingProtocol;
  ignoreEos?: boolean;
  /** Engine options for prefix caching (default: the engine's default, on). */
  prefixCache?: boolean;
  prefixBlockSize?: number;
  maxCacheTokens?: number;
  /** The scheduler's limit on pad positions in one prefill group (default: the scheduler's). */
  maxPaddingFraction?: number;
  /** Receives the engine's work counters. */
  onStats?: (stats: EngineStats) => void;
  /** Per prompt: its row's constraint (structured outputs; a fresh object per run, they are stateful). */
  constraints?: (index: number) => TokenConstraint | undefined;
  /** The engine's hook before a step's tokens are chosen (a constraint's masks made ready). */
  beforeSampling?: (specs: readonly SequenceSpec<unknown>[]) => void | Promise<void>;
}

/** Greedy sequences, one per prompt (`request` = its index), stopped by `stopTokenIds` or max_tokens. */
export function greedySpecs(prompts: number[][], maxTokens: number | number[], stopTokenIds: readonly number[] = []): SequenceSpec<number>[] {
  return prompts.map((promptIds, i) => ({
    request: i,
    sampleIndex: 0,
    promptIds,
    maxTokens: Array.isArray(maxTokens) ? maxTokens[i] : maxTokens,
    stopTokenIds: new Set(stopTokenIds),
    minTokens: 0,
    sampler: new RequestSampler(GREEDY_PARAMS, promptIds),
  }));
}

/** A greedy spec made new for a retry (RetryHandlers.restart): the same request, a fresh sampler. */
export function restartGreedy<R>(spec: SequenceSpec<R>): SequenceSpec<R> {
  return { ...spec, sampler: new RequestSampler(GREEDY_PARAMS, spec.promptIds) };
}

/** The model's batch runner, or one over another runner or protocol (a wrapped runner, a forced padding side). */
export function batchRunnerOf(model: LoadedModel, options: { runner?: StepRunner; protocol?: PaddingProtocol } = {}): BatchRunner {
  if (!options.runner && !options.protocol) return model.batchRunner;
  return new BatchRunner(options.runner ?? model.runner, options.protocol ?? model.protocol);
}

/** Greedy completion token ids of each prompt, through the real engine (real ONNX session, real protocol). */
export async function greedyTokens(model: LoadedModel, prompts: number[][], options: GreedyRunOptions): Promise<number[][]> {
  const results: number[][] = new Array(prompts.length);
  const specs = greedySpecs(prompts, options.maxTokens, options.ignoreEos ? [] : model.tokens.eosTokenIds);
  specs.forEach((spec, i) => (spec.constraint = options.constraints?.(i)));
  const { stats } = await runGeneration(
    batchRunnerOf(model, options),
    specs,
    {
      batchSize: options.batchSize,
      maxBatchTokens: options.maxBatchTokens ?? 4096,
      prefixCache: options.prefixCache,
      prefixBlockSize: options.prefixBlockSize,
      maxCacheTokens: options.maxCacheTokens,
      maxPaddingFraction: options.maxPaddingFraction,
      beforeSampling: options.beforeSampling,
    },
    (finished) => {
      results[finished.spec.request] = finished.tokenIds;
    },
  );
  options.onStats?.(stats);
  return results;
}

/** A runner that withholds the attention mask (all ones): the negative control that shows the checks can fail. */
export function maskWithheld(runner: StepRunner): StepRunner {
  return {
    kvShape: runner.kvShape,
    inputs: runner.inputs,
    gather: runner.gather.bind(runner),
    step: (feeds) => runner.step({ ...feeds, attentionMask: new BigInt64Array(feeds.attentionMask.length).fill(1n) }),
  };
}
