import { GraphVariant } from './graphVariants';
import { DataType, OnnxGraphBuilder } from './onnxGraphBuilder';
import { addTiedLmHead, declareQwen3Io, range, stepLengths } from './qwen3GraphParts';
import { qwen3Io } from './qwen3Io';
import { qwen3WeightNames } from './qwen3Weights';
import { rotaryInverseFrequencies } from './rotaryTables';
import { TinyModelOptions } from './tinyModelOptions';
import { VariantGraphOps } from './variantGraphOps';

/** Masked attention scores get the float32 minimum, not -inf, so fully masked (pad) rows stay finite. */
const FLOAT32_LOWEST = -3.4028234663852886e38;

/**
 * Adds the nodes and I/O of a Qwen3 decoder with "plain" attention (standard ONNX ops; the
 * padding and causal masks are applied inside the graph as an additive mask) to `b`.
 * The weights must be added separately as initializers named by `qwen3WeightNames`, stored for `variant`
 * (its KV dtype, not `o.kvDtype`, types the cache).
 */
export function buildQwen3PlainGraph(b: OnnxGraphBuilder, o: TinyModelOptions, variant: GraphVariant): void {
  new Qwen3PlainGraph(b, { ...o, kvDtype: variant.kvDtype }, new VariantGraphOps(b, variant)).build();
}

class Qwen3PlainGraph {
  private readonly groups: number;
  private readonly half: boolean;

  constructor(private readonly b: OnnxGraphBuilder, private readonly o: TinyModelOptions, private readonly ops: VariantGraphOps) {
    this.groups = o.heads / o.kvHeads;
    this.half = ops.variant.weightDtype === 'float16';
  }

  build(): void {
    const { b, o } = this;
    const inputIds = declareQwen3Io(b, o, this.half ? DataType.FLOAT16 : DataType.FLOAT);
    const { pastLen, totalLen } = stepLengths(b, inputIds);

    const [cos, sin] = b.withScope('rotary', () => this.rotaryTables(pastLen, totalLen));
    const mask = b.withScope('mask', () => this.additiveMask(pastLen, totalLen));

    let hidden = this.ops.embed(inputIds);
    for (let layer = 0; layer < o.layers; layer++) {
      hidden = b.withScope(`layers.${layer}`, () => this.decoderLayer(layer, hidden, cos, sin, mask));
    }
    b.withScope('lm_head', () => addTiedLmHead(b, o, this.rmsNorm(hidden, qwen3WeightNames.finalNorm), this.half));
  }

  /** cos/sin of position * inv_freq, [B or 1, 1, S, head_dim], rotate-half layout (freqs repeated twice). */
  private rotaryTables(pastLen: string, totalLen: string): [string, string] {
    const { b, o } = this;
    const invFreq = rotaryInverseFrequencies(o);
    const positions = o.withPositionIds
      ? b.op('Cast', [qwen3Io.positionIds], { to: DataType.FLOAT }) // [B,S]
      : b.op('Unsqueeze', [b.op('Cast', [this.range(pastLen, totalLen)], { to: DataType.FLOAT }), b.int64([0])]); // [1,S]
    const freqs = b.op('Mul', [b.op('Unsqueeze', [positions, b.int64([-1])]), b.float(invFreq)]);
    const angles = b.op('Concat', [freqs, freqs], { axis: -1 });
    const headAxis = b.int64([1]);
    return [
      b.op('Unsqueeze', [b.op('Cos', [angles]), headAxis]),
      b.op('Unsqueeze', [b.op('Sin', [angles]), headAxis]),
    ];
  }

  /** 0 where query i may attend key j (causal: j <= past_len + i, and key j not padding), else FLOAT32_LOWEST. */
  private additiveMask(pastLen: string, totalLen: string): string {
    const { b, o } = this;
    const keyIndex = this.range(b.int64([0], []), totalLen); // [T]
    const queryPosition = b.op('Unsqueeze', [this.range(pastLen, totalLen), b.int64([-1])]); // [S,1]
    const causal = b.op('LessOrEqual', [keyIndex, queryPosition]); // [S,T]
    let allowed = causal;
    if (o.withAttentionMask) {
      const notPadding = b.op('Cast', [qwen3Io.attentionMask], { to: DataType.BOOL }); // [B,T]
      allowed = b.op('And', [b.op('Unsqueeze', [notPadding, b.int64([1, 2])]), causal]); // [B,1,S,T]
    }
    return b.op('Where', [allowed, b.float([0], []), b.float([FLOAT32_LOWEST], [])]);
  }

  private decoderLayer(layer: number, hidden: string, cos: string, sin: string, mask: string): string {
    const { b, o } = this;
    const w = qwen3WeightNames.layer(layer);

    const normed = this.rmsNorm(hidden, w.inputNorm);
    const query = this.rotate(this.projectHeads(normed, w.qProj, o.heads, w.qNorm), cos, sin); // [B,h,S,d]
    const key = this.rotate(this.projectHeads(normed, w.kProj, o.kvHeads, w.kNorm), cos, sin); // [B,kv,S,d]
    const value = this.projectHeads(normed, w.vProj, o.kvHeads); // [B,kv,S,d]

    const allKeys = this.present(qwen3Io.pastKey(layer), key, qwen3Io.presentKey(layer));
    const allValues = this.present(qwen3Io.pastValue(layer), value, qwen3Io.presentValue(layer));

    const context = this.attention(query, allKeys, allValues, mask); // [B,h,S,d]
    const merged = b.op('Reshape', [
      b.op('Transpose', [context], { perm: [0, 2, 1, 3] }),
      b.int64([0, 0, o.heads * o.headDim]),
    ]);
    const qSize = o.heads * o.headDim;
    const afterAttention = b.op('Add', [hidden, this.ops.linear(merged, w.oProj, qSize, o.hiddenSize)]);

    const mlpInput = this.rmsNorm(afterAttention, w.postAttentionNorm);
    const gate = this.ops.linear(mlpInput, w.gateProj, o.hiddenSize, o.intermediateSize);
    const up = this.ops.linear(mlpInput, w.upProj, o.hiddenSize, o.intermediateSize);
    const activated = b.op('Mul', [b.op('Mul', [gate, b.op('Sigmoid', [gate])]), up]);
    return b.op('Add', [afterAttention, this.ops.linear(activated, w.downProj, o.intermediateSize, o.hiddenSize)]);
  }

  /** x @ W reshaped to [B, heads, S, head_dim], with the per-head RMSNorm (before rotary) when given. */
  private projectHeads(x: string, weight: string, heads: number, normWeight?: string): string {
    const { b, o } = this;
    const projected = this.ops.linear(x, weight, o.hiddenSize, heads * o.headDim);
    let perHead = b.op('Reshape', [projected, b.int64([0, 0, heads, o.headDim])]); // [B,S,h,d]
    if (normWeight) perHead = this.rmsNorm(perHead, normWeight);
    return b.op('Transpose', [perHead], { perm: [0, 2, 1, 3] });
  }

  /**
   * Scaled dot-product attention with GQA. Query head h uses kv head h // groups; instead of
   * repeating K/V, the queries of each kv head's group are folded into its sequence axis.
   */
  private attention(query: string, key: string, value: string, mask: string): string {
    const { b, o } = this;
    const grouped = this.groups > 1;
    const foldGroups = (x: string, last: number) => (grouped ? b.op('Reshape', [x, b.int64([0, o.kvHeads, -1, last])]) : x);
    const unfoldGroups = (x: string, last: number) => (grouped ? b.op('Reshape', [x, b.int64([0, o.heads, -1, last])]) : x);

    const keyT = b.op('Transpose', [key], { perm: [0, 1, 3, 2] }); // [B,kv,d,T]
    const rawScores = unfoldGroups(b.op('MatMul', [foldGroups(query, o.headDim), keyT]), 0); // [B,h,S,T]
    const scores = b.op('Add', [b.op('Mul', [rawScores, b.float([1 / Math.sqrt(o.headDim)], [])]), mask]);
    const probabilities = b.op('Softmax', [scores], { axis: -1 });
    return unfoldGroups(b.op('MatMul', [foldGroups(probabilities, 0), value]), o.headDim);
  }

  /** Rotate-half rotary: x*cos + cat(-x2, x1)*sin. */
  private rotate(x: string, cos: string, sin: string): string {
    const { b, o } = this;
    const half = o.headDim / 2;
    const [x1, x2] = b.opMulti('Split', [x, b.int64([half, half])], 2, { axis: -1 });
    const rotated = b.op('Concat', [b.op('Neg', [x2]), x1], { axis: -1 });
    return b.op('Add', [b.op('Mul', [x, cos]), b.op('Mul', [rotated, sin])]);
  }

  /** x * 1/sqrt(mean(x^2) + eps) * weight over the last axis, in fp32. */
  private rmsNorm(x: string, weight: string): string {
    const { b, o } = this;
    const meanSquare = b.op('ReduceMean', [b.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inverseRms = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [meanSquare, b.float([o.rmsNormEps], [])])])]);
    return b.op('Mul', [b.op('Mul', [x, inverseRms]), this.ops.float32(weight)]);
  }

  private range(start: string, limit: string): string {
    return range(this.b, start, limit);
  }

  /**
   * past ++ new along the sequence axis, in float32. A float16 cache is cast at the graph boundary: the past is
   * widened on the way in and the present narrowed on the way out (attention itself runs in float32).
   */
  private present(past: string, current: string, presentName: string): string {
    const { b, o } = this;
    if (o.kvDtype === 'float32') return b.op('Concat', [past, current], { axis: 2 }, presentName);
    const all = b.op('Concat', [b.op('Cast', [past], { to: DataType.FLOAT }), current], { axis: 2 });
    b.op('Cast', [all], { to: DataType.FLOAT16 }, presentName);
    return all;
  }
}
