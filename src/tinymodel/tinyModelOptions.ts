import type { AttentionKind } from '../attentionKind';
import type { DtypeName } from '../dtypeFiles';
import type { KvDtype } from '../kvDtype';

export type { KvDtype } from '../kvDtype';

/** How attention is expressed in the graph (see NOTES.md "Two attention styles"). */
export type TinyAttention = AttentionKind;
/**
 * Rotary form of a `gqa` graph: `op` = a separate com.microsoft RotaryEmbedding on q and k fed by
 * position_ids; `fused` = GroupQueryAttention's own do_rotary (positions derived from seqlens_k and
 * the past length; position_ids unused), like onnxruntime-genai's CPU exports.
 */
export type GqaRotary = 'op' | 'fused';
/** How the linear projections of one graph are stored: float, or a quantizer's format (see graphVariants.ts). */
export type TinyQuantization = 'none' | 'q4' | 'q8' | 'int8' | 'uint8' | 'bnb4';
export type WeightDtype = 'float32' | 'float16';

export const TINY_QUANTIZATIONS: readonly TinyQuantization[] = ['none', 'q4', 'q8', 'int8', 'uint8', 'bnb4'];
export const WEIGHT_DTYPES: readonly WeightDtype[] = ['float32', 'float16'];

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
  /**
   * Test models: a constant added to the logits of these token ids (float32 graphs), e.g. a stand-in for a thinking model
   * that is likely to emit `<think>` and `</think>`. Absent by default.
   */
  logitBias?: Record<number, number>;
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
