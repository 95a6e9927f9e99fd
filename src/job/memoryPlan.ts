import * as fs from 'node:fs';
import { ModelPlan } from '../engine/loadModel';
import { derivedGraphPath } from '../model/derivedGraph';
import { modelDimensions } from '../model/modelDimensions';
import { ModelFiles } from '../model/modelFiles';
import { KvShape } from '../runtime/kvShape';
import { prepackedWeightBytes } from '../runtime/sessionOptions';
import { ModelRunner } from '../runtime/stepRunner';
import { currentMemoryFacts, defaultMemoryBudget, LogitsMode, MemoryPlan, planMemory } from '../schedule/memoryBudget';

/** What the memory plan reads from the model: the KV cache shape, where logits are computed, the KV copies the runtime holds. */
export interface MemorySource {
  kv: KvShape;
  logits: LogitsMode;
  kvCopies: number;
  /**
   * Memory the session will take when it is created and that free memory does not show yet: the prepacked weights of a
   * plan made before loading (a dry run); 0 for a loaded runner, whose plan starts from the memory left after loading.
   */
  notYetLoadedBytes?: number;
}

/** From a loaded runner (a run): the KV shape its session declares, its logits inputs, its runtime's copies. */
export function runnerMemory(runner: ModelRunner): MemorySource {
  const logits = runner.inputs.hasLogitsIndex || runner.inputs.hasLogitsToKeep ? 'one-per-row' : 'all-positions';
  return { kv: runner.kvShape, logits, kvCopies: runner.runtime.kvCopies };
}

/**
 * From the graph alone (a dry run): the KV shape the graph declares (config values as fallback), and logits where the
 * next run computes them — the derived logits-gathering graph is written at the first real run, so until it exists a
 * plan counts logits at every prompt position — and the prepacked weights the session will hold.
 */
export function graphMemory(model: ModelPlan, options: { derivedGraph?: boolean }): MemorySource {
  const { graph, folder } = model;
  const derivedReady = options.derivedGraph !== false && fs.existsSync(derivedGraphPath(folder.onnxPath));
  const { kvHeads, headDim } = modelDimensions(folder.config, graph);
  return {
    kv: { layers: graph.numLayers, kvHeads, headDim, dtype: graph.kvDtype },
    logits: graph.hasLogitsToKeep || derivedReady ? 'one-per-row' : 'all-positions',
    kvCopies: model.runtime.kvCopies,
    notYetLoadedBytes: prepackedBytesOf(model),
  };
}

/**
 * Splits --max-memory between one prefill step and the KV cache: one plan, fed by the runner or by the graph. When the
 * graph returns logits for every prompt position ([B, S, vocab] float32, ~600 KB per position on Qwen3), the prefill
 * token budget is what bounds that buffer.
 */
export function memoryPlan(model: ModelFiles, source: MemorySource, options: { maxMemory?: number; maxBatchTokens?: number }): MemoryPlan {
  const { vocabSize, hiddenSize, intermediateSize, heads } = modelDimensions(model.folder.config);
  const { notYetLoadedBytes, ...memory } = source;
  return planMemory({
    budgetBytes: options.maxMemory ?? defaultMemoryBudget({ ...currentMemoryFacts(), notYetLoadedBytes }),
    ...memory,
    vocabSize: model.vocabSize || vocabSize,
    hiddenSize,
    intermediateSize,
    heads,
    requestedMaxBatchTokens: options.maxBatchTokens,
  });
}

/** What the model's session will hold once created beyond its mapped files (runtime/sessionOptions.ts prepackedWeightBytes). */
export function prepackedBytesOf(model: ModelPlan): number {
  const config = model.folder.config;
  // The tied embedding is held again only where a float Gemm/MatMul projects onto it (not with the 8-bit lm_head).
  const floatHead = !(model.derived?.rewrites ?? []).some((r) => r.name === 'quantized_lm_head');
  const tied = config.tie_word_embeddings !== false && floatHead;
  const { hiddenSize } = modelDimensions(config);
  const embedding = tied ? (model.vocabSize || 0) * hiddenSize * (model.graph.kvDtype === 'float16' ? 2 : 4) : 0;
  return prepackedWeightBytes(
    { fileBytes: model.graph.fileBytes + model.graph.externalData.bytes, tiedEmbeddingBytes: embedding },
    { disablePrepacking: model.runtime.session ? !model.runtime.session.prepacking : false },
  );
}
