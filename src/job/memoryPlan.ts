import * as fs from 'node:fs';
import { ModelPlan } from '../engine/loadModel';
import { gatheredLogitsPath } from '../model/gatheredLogitsGraph';
import { modelDimensions } from '../model/modelDimensions';
import { ModelFiles } from '../model/modelFiles';
import { KvShape } from '../runtime/kvShape';
import { ModelRunner } from '../runtime/stepRunner';
import { defaultMemoryBudget, LogitsMode, MemoryPlan, planMemory } from '../schedule/memoryBudget';

/** What the memory plan reads from the model: the KV cache shape, where logits are computed, the KV copies the runtime holds. */
export interface MemorySource {
  kv: KvShape;
  logits: LogitsMode;
  kvCopies: number;
}

/** From a loaded runner (a run): the KV shape its session declares, its logits inputs, its runtime's copies. */
export function runnerMemory(runner: ModelRunner): MemorySource {
  const logits = runner.inputs.hasLogitsIndex || runner.inputs.hasLogitsToKeep ? 'one-per-row' : 'all-positions';
  return { kv: runner.kvShape, logits, kvCopies: runner.runtime.kvCopies };
}

/**
 * From the graph alone (a dry run): the KV shape the graph declares (config values as fallback), and logits where the
 * next run computes them — the derived logits-gathering graph is written at the first real run, so until it exists a
 * plan counts logits at every prompt position.
 */
export function graphMemory(model: ModelPlan, options: { gatherLogits?: boolean }): MemorySource {
  const { graph, folder } = model;
  const derivedReady = options.gatherLogits !== false && fs.existsSync(gatheredLogitsPath(folder.onnxPath));
  const { kvHeads, headDim } = modelDimensions(folder.config, graph);
  return {
    kv: { layers: graph.numLayers, kvHeads, headDim, dtype: graph.kvDtype },
    logits: graph.hasLogitsToKeep || derivedReady ? 'one-per-row' : 'all-positions',
    kvCopies: model.runtime.kvCopies,
  };
}

/**
 * Splits --max-memory between one prefill step and the KV cache: one plan, fed by the runner or by the graph. When the
 * graph returns logits for every prompt position ([B, S, vocab] float32, ~600 KB per position on Qwen3), the prefill
 * token budget is what bounds that buffer.
 */
export function memoryPlan(model: ModelFiles, source: MemorySource, options: { maxMemory?: number; maxBatchTokens?: number }): MemoryPlan {
  const { vocabSize, hiddenSize, intermediateSize, heads } = modelDimensions(model.folder.config);
  return planMemory({
    budgetBytes: options.maxMemory ?? defaultMemoryBudget(),
    ...source,
    vocabSize: model.vocabSize || vocabSize,
    hiddenSize,
    intermediateSize,
    heads,
    requestedMaxBatchTokens: options.maxBatchTokens,
  });
}
