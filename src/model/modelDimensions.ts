import { GraphInfo } from './graphInfo';
import { configNumber } from './modelFiles';

/** The shape numbers of a model that qwen-gen plans with (the runner reads the authoritative ones from its session). */
export interface ModelDimensions {
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
}

/**
 * The one place their fallbacks live: the graph's KV tensor dims where it declares them, else config.json's, else
 * Qwen3-0.6B's (hidden 1024, intermediate 3072, 16 heads, vocabulary 151,936; head_dim = hidden / heads as in HF when the
 * config has none; 0 KV heads when nothing says).
 */
export function modelDimensions(config: Record<string, unknown>, graph?: Pick<GraphInfo, 'numKvHeads' | 'headDim'>): ModelDimensions {
  const hiddenSize = configNumber(config, 'hidden_size') ?? 1024;
  const heads = configNumber(config, 'num_attention_heads') ?? 16;
  return {
    hiddenSize,
    intermediateSize: configNumber(config, 'intermediate_size') ?? 3072,
    heads,
    kvHeads: graph?.numKvHeads ?? configNumber(config, 'num_key_value_heads') ?? 0,
    headDim: graph?.headDim ?? configNumber(config, 'head_dim') ?? hiddenSize / heads,
    vocabSize: configNumber(config, 'vocab_size') || 151936,
  };
}
