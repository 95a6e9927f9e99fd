import { DataType, OnnxGraphBuilder } from './onnxGraphBuilder';
import { float32Tensor } from './onnxTensors';
import { qwen3Dims, qwen3Io } from './qwen3Io';
import { qwen3WeightNames } from './qwen3Weights';
import { TinyModelOptions } from './tinyModelOptions';

/** Pieces shared by every Qwen3 graph layout: the external I/O and the tied lm_head. */

/** ONNX element type of the past/present tensors. */
export function kvElemType(o: TinyModelOptions): number {
  return o.kvDtype === 'float16' ? DataType.FLOAT16 : DataType.FLOAT;
}

/**
 * Declares the graph inputs and outputs (identical for every attention kind) and returns `input_ids`.
 * `logitsType` is float16 in float16-weight graphs, as in the real fp16 / q4f16 exports.
 */
export function declareQwen3Io(b: OnnxGraphBuilder, o: TinyModelOptions, logitsType: number = DataType.FLOAT): string {
  const { batch, sequence, past, total, keptLogits } = qwen3Dims;
  const kvType = kvElemType(o);
  const inputIds = b.addInput(qwen3Io.inputIds, DataType.INT64, [batch, sequence]);
  if (o.withAttentionMask) b.addInput(qwen3Io.attentionMask, DataType.INT64, [batch, total]);
  if (o.withPositionIds) b.addInput(qwen3Io.positionIds, DataType.INT64, [batch, sequence]);
  for (let layer = 0; layer < o.layers; layer++) {
    b.addInput(qwen3Io.pastKey(layer), kvType, [batch, o.kvHeads, past, o.headDim]);
    b.addInput(qwen3Io.pastValue(layer), kvType, [batch, o.kvHeads, past, o.headDim]);
  }
  if (o.withLogitsToKeep) b.addInput(qwen3Io.numLogitsToKeep, DataType.INT64, []);

  b.addOutput(qwen3Io.logits, logitsType, [batch, o.withLogitsToKeep ? keptLogits : sequence, o.vocabSize]);
  for (let layer = 0; layer < o.layers; layer++) {
    b.addOutput(qwen3Io.presentKey(layer), kvType, [batch, o.kvHeads, total, o.headDim]);
    b.addOutput(qwen3Io.presentValue(layer), kvType, [batch, o.kvHeads, total, o.headDim]);
  }
  return inputIds;
}

/**
 * Tied lm_head over the final-normed hidden state: Gemm against the embedding itself (transB), stored once.
 * `half`: the embedding is float16, so the Gemm runs in float16 and the logits are float16.
 */
export function addTiedLmHead(b: OnnxGraphBuilder, o: TinyModelOptions, normedHidden: string, half = false): void {
  // float16: the hidden state is cast where a float16 export's already is, so the head keeps its usual shape.
  let normed = half ? b.op('Cast', [normedHidden], { to: DataType.FLOAT16 }) : normedHidden;
  if (o.withLogitsToKeep) {
    // HF semantics: keep the last k positions; k = 0 keeps all (slice start -0 = 0).
    const start = b.op('Neg', [b.op('Unsqueeze', [qwen3Io.numLogitsToKeep, b.int64([0])])]);
    normed = b.op('Slice', [normed, start, b.int64([Number.MAX_SAFE_INTEGER]), b.int64([1])]);
  }
  const flat = b.op('Reshape', [normed, b.int64([-1, o.hiddenSize])]);
  const flatLogits = b.op('Gemm', [flat, qwen3WeightNames.embedTokens, ...logitBias(b, o, half)], { transB: 1 });
  const outputShape = b.op('Concat', [b.op('Shape', [normed], { start: 0, end: 2 }), b.int64([o.vocabSize])], { axis: 0 });
  b.op('Reshape', [flatLogits, outputShape], {}, qwen3Io.logits);
}

/** The optional `logitBias` as Gemm's C input (a [vocab] row broadcast over every position). */
function logitBias(b: OnnxGraphBuilder, o: TinyModelOptions, half: boolean): string[] {
  if (!o.logitBias || Object.keys(o.logitBias).length === 0) return [];
  if (half) throw new Error('logitBias applies to float32 graphs only');
  const bias = new Float32Array(o.vocabSize);
  for (const [id, value] of Object.entries(o.logitBias)) bias[Number(id)] = value;
  return [b.addInitializer(float32Tensor('lm_head.logit_bias', bias, [o.vocabSize]))];
}

export function range(b: OnnxGraphBuilder, start: string, limit: string): string {
  return b.op('Range', [start, limit, b.int64([1], [])]);
}

/** Sequence length of this step and past length (int64 scalars), read from the shapes of input_ids and past key 0. */
export function stepLengths(b: OnnxGraphBuilder, inputIds: string): { seqLen: string; pastLen: string; totalLen: string } {
  const seqLen = b.op('Gather', [b.op('Shape', [inputIds]), b.int64([1], [])]);
  const pastLen = b.op('Gather', [b.op('Shape', [qwen3Io.pastKey(0)]), b.int64([2], [])]);
  return { seqLen, pastLen, totalLen: b.op('Add', [pastLen, seqLen]) };
}
