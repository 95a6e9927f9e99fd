import { GraphInfo } from '../model/graphInfo';
import { KvShape } from '../runtime/kvShape';
import { LoadedModel, ModelFiles } from '../model/loadModel';
import { defaultMemoryBudget, LogitsMode, MemoryPlan, planMemory } from '../schedule/memoryBudget';

/**
 * Splits --max-memory between one prefill step and the KV cache. When the graph returns logits for every prompt position
 * ([B, S, vocab] float32, ~600 KB per position on Qwen3), the prefill token budget is what bounds that buffer.
 */
export function memoryPlan(model: LoadedModel, options: { maxMemory?: number; maxBatchTokens?: number }): MemoryPlan {
  const logits = model.runner.inputs.hasLogitsIndex || model.runner.inputs.hasLogitsToKeep ? 'one-per-row' : 'all-positions';
  return memoryPlanFor(model, model.runner.kvShape, logits, model.runner.runtime.kvCopies, options);
}

/** The same plan from the model's files alone (no session: --dry-run). */
export function memoryPlanFor(
  model: ModelFiles,
  kv: KvShape,
  logits: LogitsMode,
  kvCopies: number,
  options: { maxMemory?: number; maxBatchTokens?: number },
): MemoryPlan {
  const config = (key: string, fallback: number) => (typeof model.folder.config[key] === 'number' ? (model.folder.config[key] as number) : fallback);
  return planMemory({
    budgetBytes: options.maxMemory ?? defaultMemoryBudget(),
    kv,
    kvCopies,
    vocabSize: model.vocabSize || 151936,
    hiddenSize: config('hidden_size', 1024),
    intermediateSize: config('intermediate_size', 3072),
    heads: config('num_attention_heads', 16),
    logits,
    requestedMaxBatchTokens: options.maxBatchTokens,
  });
}

/** The KV cache shape as the graph declares it (what the runner reads from its session), config values as fallback. */
export function kvShapeOf(graph: GraphInfo, config: Record<string, unknown>): KvShape {
  const num = (key: string) => (typeof config[key] === 'number' ? (config[key] as number) : undefined);
  return {
    layers: graph.numLayers,
    kvHeads: graph.numKvHeads ?? num('num_key_value_heads') ?? 0,
    headDim: graph.headDim ?? num('head_dim') ?? (num('hidden_size') ?? 0) / (num('num_attention_heads') ?? 1),
    dtype: graph.kvDtype,
  };
}
