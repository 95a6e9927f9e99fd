import { LoadedModel } from '../model/loadModel';
import { defaultMemoryBudget, MemoryPlan, planMemory } from '../schedule/memoryBudget';

/**
 * Splits --max-memory between one prefill step and the KV cache. When the graph returns logits for every prompt position
 * ([B, S, vocab] float32, ~600 KB per position on Qwen3), the prefill token budget is what bounds that buffer.
 */
export function memoryPlan(model: LoadedModel, options: { maxMemory?: number; maxBatchTokens?: number }): MemoryPlan {
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
