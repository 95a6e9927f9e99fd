import { GraphVariant } from './graphVariants';
import { DataType, OnnxGraphBuilder } from './onnxGraphBuilder';
import { float16Tensor, float32Tensor } from './onnxTensors';
import { addTiedLmHead, declareQwen3Io, range, stepLengths } from './qwen3GraphParts';
import { qwen3Io } from './qwen3Io';
import { qwen3WeightNames } from './qwen3Weights';
import { rotaryCacheTables } from './rotaryTables';
import { TinyModelOptions } from './tinyModelOptions';
import { VariantGraphOps } from './variantGraphOps';

const MICROSOFT_DOMAIN = 'com.microsoft';
export const COS_CACHE_NAME = 'rotary.cos_cache';
export const SIN_CACHE_NAME = 'rotary.sin_cache';

/**
 * Adds the nodes and I/O of a Qwen3 decoder laid out like the onnxruntime-genai / onnx-community exports:
 * com.microsoft GroupQueryAttention, SimplifiedLayerNormalization for RMSNorm (also q_norm/k_norm on the
 * per-head reshape, before rotary) and SkipSimplifiedLayerNormalization for residual add + RMSNorm.
 * External I/O is identical to the plain graph's. The attention mask only reaches GQA as
 * seqlens_k = sum(mask) - 1 and total_sequence_length = mask width, so GQA assumes RIGHT padding: a row's
 * real tokens are at slots 0..seqlens_k, and its present cache holds them compacted there.
 * The weights must be added separately as initializers named by `qwen3WeightNames`, stored for `variant`
 * (its KV dtype, not `o.kvDtype`, types the cache).
 */
export function buildQwen3GqaGraph(b: OnnxGraphBuilder, o: TinyModelOptions, variant: GraphVariant): void {
  new Qwen3GqaGraph(b, { ...o, kvDtype: variant.kvDtype }, new VariantGraphOps(b, variant)).build();
}

class Qwen3GqaGraph {
  private readonly fusedRotary: boolean;
  /** GQA runs in float16 (float16 KV cache). */
  private readonly half: boolean;
  /** float16 weights (and float16 logits). */
  private readonly halfWeights: boolean;
  private inputIds = '';
  private lengthsOfStep?: ReturnType<typeof stepLengths>;

  constructor(private readonly b: OnnxGraphBuilder, private readonly o: TinyModelOptions, private readonly ops: VariantGraphOps) {
    if (o.attention !== 'gqa' || !o.rotary) throw new Error('buildQwen3GqaGraph needs resolved gqa options');
    this.fusedRotary = o.rotary === 'fused';
    this.half = o.kvDtype === 'float16';
    this.halfWeights = ops.variant.weightDtype === 'float16';
  }

  build(): void {
    const { b, o } = this;
    b.useDomain(MICROSOFT_DOMAIN, 1);
    this.inputIds = declareQwen3Io(b, o, this.halfWeights ? DataType.FLOAT16 : DataType.FLOAT);
    this.addRotaryCaches();
    const lengths = b.withScope('attention_lengths', () => this.attentionLengths());
    // With fused rotary GQA derives positions from seqlens_k and the past length: position_ids stays a declared,
    // unread input, as in the real exports, so every variant takes the same feeds.
    const positions = this.fusedRotary ? undefined : b.withScope('rotary', () => this.positionIds());

    const embeddings = this.ops.embed(this.inputIds);
    let normed = b.withScope('layers.0', () => this.rmsNorm(embeddings, qwen3WeightNames.layer(0).inputNorm));
    let residual = embeddings;
    for (let layer = 0; layer < o.layers; layer++) {
      [normed, residual] = b.withScope(`layers.${layer}`, () => this.decoderLayer(layer, normed, residual, lengths, positions));
    }
    b.withScope('lm_head', () => addTiedLmHead(b, o, normed, this.halfWeights));
  }

  /**
   * Takes the input-normed hidden state and the residual stream; returns the next norm's output (the next
   * layer's input_layernorm, or the final norm after the last layer) and the updated residual stream.
   */
  private decoderLayer(
    layer: number,
    normed: string,
    residual: string,
    lengths: AttentionLengths,
    positions: string | undefined,
  ): [string, string] {
    const { b, o } = this;
    const w = qwen3WeightNames.layer(layer);
    const attentionOutput = this.attention(layer, normed, lengths, positions);
    const [mlpInput, afterAttention] = this.skipRmsNorm(attentionOutput, residual, w.postAttentionNorm);

    const gate = this.ops.linear(mlpInput, w.gateProj, o.hiddenSize, o.intermediateSize);
    const up = this.ops.linear(mlpInput, w.upProj, o.hiddenSize, o.intermediateSize);
    const activated = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    const mlpOutput = this.ops.linear(activated, w.downProj, o.intermediateSize, o.hiddenSize);
    const nextNorm = layer + 1 < o.layers ? qwen3WeightNames.layer(layer + 1).inputNorm : qwen3WeightNames.finalNorm;
    return this.skipRmsNorm(mlpOutput, afterAttention, nextNorm);
  }

  private attention(layer: number, normed: string, lengths: AttentionLengths, positions: string | undefined): string {
    const { b, o } = this;
    const w = qwen3WeightNames.layer(layer);
    let query = this.projectHeads(normed, w.qProj, o.heads, w.qNorm); // [B,S,h*d]
    let key = this.projectHeads(normed, w.kProj, o.kvHeads, w.kNorm); // [B,S,kv*d]
    const value = this.ops.linear(normed, w.vProj, o.hiddenSize, o.kvHeads * o.headDim); // [B,S,kv*d]
    if (positions) {
      query = this.rotaryEmbedding(query, positions);
      key = this.rotaryEmbedding(key, positions);
    }

    const inputs = [
      ...[query, key, value].map((x) => this.toAttentionType(x)),
      qwen3Io.pastKey(layer), qwen3Io.pastValue(layer), lengths.seqlensK, lengths.totalSequenceLength,
    ];
    if (this.fusedRotary) inputs.push(COS_CACHE_NAME, SIN_CACHE_NAME);
    const [context] = b.opMulti(
      'GroupQueryAttention',
      inputs,
      3,
      {
        num_heads: o.heads,
        kv_num_heads: o.kvHeads,
        scale: { float: 1 / Math.sqrt(o.headDim) },
        do_rotary: this.fusedRotary ? 1 : 0,
        rotary_interleaved: 0,
      },
      [`layers.${layer}/attention_output`, qwen3Io.presentKey(layer), qwen3Io.presentValue(layer)],
      MICROSOFT_DOMAIN,
    );
    const context32 = this.half ? b.op('Cast', [context], { to: DataType.FLOAT }) : context;
    return this.ops.linear(context32, w.oProj, o.heads * o.headDim, o.hiddenSize);
  }

  /**
   * With a float16 KV cache GQA runs in float16 like the q4f16 exports: onnxruntime 1.30's CPU kernel needs q/k/v
   * of the cache's type (a float32-query/float16-cache node loads but fails at run time).
   */
  private toAttentionType(x: string): string {
    return this.half ? this.b.op('Cast', [x], { to: DataType.FLOAT16 }) : x;
  }

  /** x @ W as [B, S, heads*head_dim], after the per-head RMSNorm (q_norm/k_norm) on the [B,S,heads,head_dim] reshape. */
  private projectHeads(x: string, weight: string, heads: number, normWeight: string): string {
    const { b, o } = this;
    const projected = this.ops.linear(x, weight, o.hiddenSize, heads * o.headDim);
    const perHead = b.op('Reshape', [projected, b.int64([0, 0, heads, o.headDim])]);
    return b.op('Reshape', [this.rmsNorm(perHead, normWeight), b.int64([0, 0, heads * o.headDim])]);
  }

  /** Rotate-half RotaryEmbedding on [B, S, heads*head_dim]; the head size is read from the cache width. */
  private rotaryEmbedding(x: string, positions: string): string {
    const inputs = [x, positions, COS_CACHE_NAME, SIN_CACHE_NAME];
    return this.b.opMulti('RotaryEmbedding', inputs, 1, { interleaved: 0 }, undefined, MICROSOFT_DOMAIN)[0];
  }

  private rmsNorm(x: string, weight: string): string {
    return this.b.op('SimplifiedLayerNormalization', [x, this.ops.float32(weight)], { axis: -1, epsilon: { float: this.o.rmsNormEps } });
  }

  /** (x + skip) normed with `weight`, and the sum itself (the residual stream). */
  private skipRmsNorm(x: string, skip: string, weight: string): [string, string] {
    const [normed, , , sum] = this.b.opMulti(
      'SkipSimplifiedLayerNormalization',
      [x, skip, this.ops.float32(weight)],
      4,
      { epsilon: { float: this.o.rmsNormEps } },
      undefined,
      MICROSOFT_DOMAIN,
    );
    return [normed, sum];
  }

  /**
   * cos/sin caches [maxPositionEmbeddings, head_dim/2], shared by every RotaryEmbedding / GQA node; of GQA's
   * own type when GQA rotates (float16 with a float16 cache), else float32 (RotaryEmbedding runs before the Cast).
   */
  private addRotaryCaches(): void {
    const { b, o } = this;
    const tables = rotaryCacheTables(o);
    const dims = [o.maxPositionEmbeddings, o.headDim / 2];
    const tensor = this.fusedRotary && this.half ? float16Tensor : float32Tensor;
    b.addInitializer(tensor(COS_CACHE_NAME, tables.cos, dims));
    b.addInitializer(tensor(SIN_CACHE_NAME, tables.sin, dims));
  }

  /**
   * seqlens_k = sum(mask) - 1 per row and total_sequence_length = mask width, as int32 (what the real exports
   * compute). Without an attention_mask input every row is full: both come from past + current lengths.
   */
  private attentionLengths(): AttentionLengths {
    const { b, o } = this;
    const toInt32 = (x: string) => b.op('Cast', [x], { to: DataType.INT32 });
    if (o.withAttentionMask) {
      const mask = qwen3Io.attentionMask;
      const realTokens = b.op('ReduceSum', [mask, b.int64([1])], { keepdims: 0 }); // [B]
      const width = b.op('Gather', [b.op('Shape', [mask]), b.int64([1], [])]);
      return { seqlensK: toInt32(b.op('Sub', [realTokens, b.int64([1], [])])), totalSequenceLength: toInt32(width) };
    }
    const { totalLen } = this.stepLengths();
    const batch = b.op('Shape', [this.inputIds], { start: 0, end: 1 });
    const lastIndex = b.op('Expand', [b.op('Sub', [totalLen, b.int64([1], [])]), batch]);
    return { seqlensK: toInt32(lastIndex), totalSequenceLength: toInt32(totalLen) };
  }

  /** position_ids [B,S] for RotaryEmbedding; without that input, past_len + arange(S) for every row. */
  private positionIds(): string {
    const { b, o } = this;
    if (o.withPositionIds) return qwen3Io.positionIds;
    const { pastLen, totalLen } = this.stepLengths();
    return b.op('Expand', [range(b, pastLen, totalLen), b.op('Shape', [this.inputIds])]);
  }

  /** Past/current/total lengths from the input shapes, added to the graph on first use only. */
  private stepLengths(): ReturnType<typeof stepLengths> {
    this.lengthsOfStep ??= stepLengths(this.b, this.inputIds);
    return this.lengthsOfStep;
  }
}

interface AttentionLengths {
  /** int32 [B]: index of each row's last real token. */
  seqlensK: string;
  /** int32 scalar: the mask width (past + current). */
  totalSequenceLength: string;
}
