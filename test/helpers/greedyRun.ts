import { EngineStats } from '../../src/engine/engineStats';
import { runGeneration } from '../../src/engine/generationEngine';
import { LoadedModel } from '../../src/model/loadModel';
import { SequenceOutput } from '../../src/output/sequenceOutput';
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
}

/** Greedy completion token ids of each prompt, through the real engine (real ONNX session, real protocol). */
export async function greedyTokens(model: LoadedModel, prompts: number[][], options: GreedyRunOptions): Promise<number[][]> {
  const results: number[][] = new Array(prompts.length);
  const specs = prompts.map((promptIds, i) => ({
    request: i,
    sampleIndex: 0,
    promptIds,
    maxTokens: Array.isArray(options.maxTokens) ? options.maxTokens[i] : options.maxTokens,
    sampler: new RequestSampler(GREEDY_PARAMS, promptIds),
    stop: new SequenceOutput(model.tokenizer, {
      maxTokens: Array.isArray(options.maxTokens) ? options.maxTokens[i] : options.maxTokens,
      minTokens: 0,
      stopTokenIds: new Set(options.ignoreEos ? [] : model.tokens.eosTokenIds),
      stopStrings: [],
      includeStopStrInOutput: false,
    }),
  }));
  const { stats } = await runGeneration(
    options.runner ?? model.runner,
    options.protocol ?? model.protocol,
    specs,
    {
      batchSize: options.batchSize,
      maxBatchTokens: options.maxBatchTokens ?? 4096,
      prefixCache: options.prefixCache,
      prefixBlockSize: options.prefixBlockSize,
      maxCacheTokens: options.maxCacheTokens,
      maxPaddingFraction: options.maxPaddingFraction,
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
