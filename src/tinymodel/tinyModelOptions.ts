import type { AttentionKind } from '../attentionKind';
import type { DtypeName } from '../dtypeFiles';
import { TinyQuantization, WeightDtype, resolveGraphVariants } from './graphVariants';

/** How attention is expressed in the graph (see NOTES.md "Two attention styles"). */
export type TinyAttention = AttentionKind;
/**
 * Rotary form of a `gqa` graph: `op` = a separate com.microsoft RotaryEmbedding on q and k fed by
 * position_ids; `fused` = GroupQueryAttention's own do_rotary (positions derived from seqlens_k and
 * the past length; position_ids unused), like onnxruntime-genai's CPU exports.
 */
export type GqaRotary = 'op' | 'fused';
export type KvDtype = 'float32' | 'float16';

export const TINY_ATTENTIONS: readonly TinyAttention[] = ['plain', 'gqa'];
export const GQA_ROTARIES: readonly GqaRotary[] = ['op', 'fused'];
export const KV_DTYPES: readonly KvDtype[] = ['float32', 'float16'];
/** The rotary form of a `gqa` graph when none is asked for. */
export const DEFAULT_GQA_ROTARY: GqaRotary = 'fused';

/** Shape and layout of a generated tiny Qwen3 model. */
export interface TinyModelOptions {
  seed: number;
  layers: number;
  hiddenSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  /** The real Qwen3 vocabulary size by default, so the real tokenizer's ids are all valid. */
  vocabSize: number;
  maxPositionEmbeddings: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** Adds an int64 scalar input `num_logits_to_keep`: logits then cover only the last k positions (0 = all). */
  withLogitsToKeep: boolean;
  /** false: the graph has no `attention_mask` input (causal mask only). */
  withAttentionMask: boolean;
  /** false: the graph has no `position_ids` input; positions are past_len + arange(S). */
  withPositionIds: boolean;
  /** Weights larger than this (in bytes) go to `onnx/model.onnx_data` (protobuf cannot exceed 2 GB). */
  externalDataThresholdBytes: number;
  /** `plain` standard ops with an additive mask; `gqa` com.microsoft GroupQueryAttention and fused RMSNorms. */
  attention: TinyAttention;
  /** Only for `attention: 'gqa'` (DEFAULT_GQA_ROTARY when absent); a plain graph computes rotary with Sin/Cos ops. */
  rotary?: GqaRotary;
  /** Element type of the past_key_values / present tensors of float32-weight graphs; the rest of the graph computes in float32. */
  kvDtype: KvDtype;
  /**
   * The graph-file options below are absent by default (so config.json's record of the default model is unchanged).
   * See graphVariants.ts for the formats and the transformers.js file names they are written under.
   */
  /** How the linear projections are stored in the single graph written (default 'none': float). */
  quantize?: TinyQuantization;
  /** float16: all weights float16, and float16 KV cache and logits, like the real fp16 / q4f16 exports (default float32). */
  weightDtype?: WeightDtype;
  /** The single graph's file, relative to the folder (default: onnx/model{suffix}.onnx of its transformers.js dtype). */
  fileName?: string;
  /** Writes one graph per listed transformers.js dtype into the same folder, over the same weights and configs. */
  variants?: DtypeName[];
}

/** Qwen3 tokenizer size (151643 byte-level BPE tokens + 26 special tokens): the smallest usable vocabulary. */
export const QWEN3_TOKENIZER_SIZE = 151669;

/** Small enough to build in about a second (~20 MB, nearly all embedding), large enough for varied greedy tokens. */
export const DEFAULT_TINY_OPTIONS: Readonly<TinyModelOptions> = Object.freeze({
  seed: 42,
  layers: 2,
  hiddenSize: 32,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  intermediateSize: 64,
  vocabSize: 151936,
  maxPositionEmbeddings: 4096,
  ropeTheta: 1e6,
  rmsNormEps: 1e-6,
  withLogitsToKeep: false,
  withAttentionMask: true,
  withPositionIds: true,
  externalDataThresholdBytes: 1.8e9,
  attention: 'plain',
  kvDtype: 'float32',
});

/** Fills defaults and checks the shape; throws an Error whose message names the bad option. */
export function resolveTinyOptions(overrides: Partial<TinyModelOptions> = {}): TinyModelOptions {
  const options: TinyModelOptions = { ...DEFAULT_TINY_OPTIONS, ...overrides };
  const positive: (keyof TinyModelOptions)[] = [
    'layers', 'hiddenSize', 'heads', 'kvHeads', 'headDim', 'intermediateSize', 'vocabSize', 'maxPositionEmbeddings',
  ];
  for (const key of positive) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`${key} must be a positive integer (got ${String(value)})`);
    }
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
    throw new Error(`seed must be an integer in 0..4294967295 (got ${options.seed})`);
  }
  if (options.heads % options.kvHeads !== 0) {
    throw new Error(`heads (${options.heads}) must be a multiple of kvHeads (${options.kvHeads})`);
  }
  if (options.headDim % 2 !== 0) throw new Error(`headDim must be even for rotary embeddings (got ${options.headDim})`);
  if (options.vocabSize < QWEN3_TOKENIZER_SIZE) {
    throw new Error(`vocabSize must be at least ${QWEN3_TOKENIZER_SIZE}, the Qwen3 tokenizer's size (got ${options.vocabSize})`);
  }
  if (!(options.ropeTheta > 0) || !(options.rmsNormEps > 0)) throw new Error('ropeTheta and rmsNormEps must be positive');
  if (!(options.externalDataThresholdBytes >= 0)) throw new Error('externalDataThresholdBytes must be >= 0');
  resolveVariant(options);
  return options;
}

function resolveVariant(options: TinyModelOptions): void {
  const oneOf = <T extends string>(key: keyof TinyModelOptions, allowed: readonly T[]): void => {
    if (!allowed.includes(options[key] as T)) {
      throw new Error(`${key} must be one of ${allowed.join(', ')} (got ${String(options[key])})`);
    }
  };
  oneOf('attention', TINY_ATTENTIONS);
  oneOf('kvDtype', KV_DTYPES);
  if (options.attention === 'gqa') {
    options.rotary ??= DEFAULT_GQA_ROTARY;
    oneOf('rotary', GQA_ROTARIES);
  } else if (options.rotary !== undefined) {
    throw new Error(`rotary applies only to attention 'gqa' (got rotary ${String(options.rotary)} with attention ${options.attention})`);
  }
  resolveGraphVariants(options);
}
