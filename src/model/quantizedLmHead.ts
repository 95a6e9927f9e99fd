/**
 * `quantized_lm_head`: in a graph whose linear layers are quantized but whose vocabulary projection (the tied embedding,
 * 151936 × 1024 float32 = 622 MB on Qwen3-0.6B) stays float — the builder's q4/q8 files, and exports whose quantizer
 * leaves a Gemm alone — the derived graph's head multiplies by an 8-bit copy of that weight instead: a com.microsoft
 * MatMulNBits (bits 8, blocks of 32 along the hidden dimension, symmetric: scale = max |w| / 127, zero point 128;
 * accuracy level 4). The copy is written once beside the model (`<name>.qwen-gen.onnx_data`, ~1/4 of the float weight);
 * the user's files are only read. The embedding lookup itself still reads the float weight.
 *
 * It applies to the gathered-logits head only (gatheredLogitsPlan.ts), whose projection is a Gemm (transB = 1) over a
 * float32 [vocab, hidden] initializer or a MatMul over a float32 [hidden, vocab] one, without bias.
 */
import { promises as fsp } from 'fs';
import { onnx } from 'onnx-proto';
import { GatheredLogitsPlan } from './gatheredLogitsPlan';
import { ModelLayout, toNumber } from './onnxModelLayout';
import { ByteSource, externalTensor, initializerSource, readFully, writeFully } from './initializerData';

export const LM_HEAD_BLOCK = 32;
const LM_HEAD_BITS = 8;
const NAME_PREFIX = 'qwen_gen_lm_head/';

export interface LmHeadPlan {
  /** The new head's projection node (replaces the gather plan's). */
  node: onnx.NodeProto;
  /** The quantized weight and its scales, as external data in `dataFile`. */
  initializers: onnx.TensorProto[];
  vocab: number;
  hidden: number;
  /** True when the float weight is stored [vocab, hidden] (Gemm transB = 1), false for [hidden, vocab] (MatMul). */
  rowsAreVocab: boolean;
  source: ByteSource;
  /** Bytes of the data file: quantized weight, then scales. */
  dataBytes: number;
}

/**
 * Plans the quantized head for a gather plan. `dataFileName` is the derived data file's name (beside the model);
 * `onnxPath` the user's graph file (for embedded weights and relative external-data locations).
 */
export function planQuantizedLmHead(layout: ModelLayout, gather: GatheredLogitsPlan, onnxPath: string, dataFileName: string): LmHeadPlan | { reason: string } {
  const index = gather.newNodes.findIndex((n) => (n.opType === 'Gemm' || n.opType === 'MatMul') && (!n.domain || n.domain === 'ai.onnx'));
  if (index < 0) return { reason: 'the vocabulary projection is not a float MatMul or Gemm' };
  const projection = gather.newNodes[index];
  const attr = (name: string) => (projection.attribute ?? []).find((a) => a.name === name);
  const int = (name: string, otherwise: number) => (attr(name) ? toNumber(attr(name)!.i as number) : otherwise);
  const float = (name: string, otherwise: number) => (attr(name)?.f ?? otherwise);
  const inputs = projection.input ?? [];
  if (projection.opType === 'Gemm') {
    if (int('transA', 0) !== 0 || int('transB', 0) !== 1) return { reason: 'the Gemm projection is not x · Wᵀ' };
    if (inputs.length > 2 && inputs[2]) return { reason: 'the Gemm projection has a bias' };
    if (float('alpha', 1) !== 1) return { reason: 'the Gemm projection scales its product' };
  } else if (inputs.length !== 2) return { reason: 'the MatMul projection has other inputs' };
  const weightName = inputs[1];
  const field = layout.graphFields.find((f) => f.kind === 'initializer' && f.tensor.name === weightName);
  if (!field || field.kind !== 'initializer') return { reason: `the projection weight '${weightName}' is not an initializer` };
  const tensor = field.tensor;
  if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT) return { reason: 'the projection weight is not float32' };
  const dims = tensor.dims.map(toNumber);
  if (dims.length !== 2) return { reason: 'the projection weight is not a matrix' };
  const rowsAreVocab = projection.opType === 'Gemm';
  const [vocab, hidden] = rowsAreVocab ? dims : [dims[1], dims[0]];
  if (hidden % LM_HEAD_BLOCK !== 0) return { reason: `the hidden size ${hidden} is not a multiple of ${LM_HEAD_BLOCK}` };

  const source = initializerSource(field, onnxPath, vocab * hidden * 4);
  if ('reason' in source) return { reason: `the projection weight ${source.reason}` };
  if (source.length !== vocab * hidden * 4) return { reason: 'the projection weight has an unexpected byte length' };

  const blocks = hidden / LM_HEAD_BLOCK;
  const weightBytes = vocab * hidden;
  const scaleBytes = vocab * blocks * 4;
  const external = (name: string, dataType: number, tensorDims: number[], offset: number, length: number) =>
    externalTensor(name, dataType, tensorDims, dataFileName, offset, length);
  const quantizedName = `${NAME_PREFIX}weight_q8`;
  const scalesName = `${NAME_PREFIX}scales`;
  const node = onnx.NodeProto.create({
    name: `${NAME_PREFIX}MatMulNBits`,
    opType: 'MatMulNBits',
    domain: 'com.microsoft',
    input: [inputs[0], quantizedName, scalesName],
    output: projection.output,
    attribute: [
      { name: 'K', type: onnx.AttributeProto.AttributeType.INT, i: hidden },
      { name: 'N', type: onnx.AttributeProto.AttributeType.INT, i: vocab },
      { name: 'bits', type: onnx.AttributeProto.AttributeType.INT, i: LM_HEAD_BITS },
      { name: 'block_size', type: onnx.AttributeProto.AttributeType.INT, i: LM_HEAD_BLOCK },
      { name: 'accuracy_level', type: onnx.AttributeProto.AttributeType.INT, i: 4 },
    ],
  });
  return {
    node,
    initializers: [
      external(quantizedName, onnx.TensorProto.DataType.UINT8, [vocab, blocks, LM_HEAD_BLOCK], 0, weightBytes),
      external(scalesName, onnx.TensorProto.DataType.FLOAT, [vocab * blocks], weightBytes, scaleBytes),
    ],
    vocab,
    hidden,
    rowsAreVocab,
    source,
    dataBytes: weightBytes + scaleBytes,
  };
}

/** The gather plan with its projection replaced by the quantized head. */
export function withQuantizedLmHead(gather: GatheredLogitsPlan, head: LmHeadPlan): GatheredLogitsPlan {
  const index = gather.newNodes.findIndex((n) => (n.output ?? [])[0] === head.node.output[0]);
  const newNodes = [...gather.newNodes];
  newNodes[index] = head.node;
  return { ...gather, newNodes, newInitializers: [...gather.newInitializers, ...head.initializers] };
}

/** Rows of the vocabulary quantized per read of the source. */
const ROWS_PER_CHUNK = 4096;

/**
 * Writes the 8-bit weight ([vocab, blocks, 32] uint8: q + 128 with q = round(w / scale) in [-127, 127], scale = the
 * block's max |w| / 127) and its float32 scales ([vocab · blocks]) to `target`.
 */
export async function writeQuantizedLmHead(head: LmHeadPlan, target: string): Promise<void> {
  const { vocab, hidden, rowsAreVocab, source } = head;
  const blocks = hidden / LM_HEAD_BLOCK;
  const input = await fsp.open(source.file, 'r');
  const output = await fsp.open(target, 'wx');
  try {
    const scales = new Float32Array(vocab * blocks);
    for (let first = 0; first < vocab; first += ROWS_PER_CHUNK) {
      const rows = Math.min(ROWS_PER_CHUNK, vocab - first);
      const weights = rowsAreVocab ? await readRows(input, source.offset + first * hidden * 4, rows * hidden) : await readColumns(input, source, hidden, vocab, first, rows);
      const quantized = quantizeRows(weights, rows, hidden, scales.subarray(first * blocks, (first + rows) * blocks));
      await writeFully(output, quantized, first * hidden);
    }
    await writeFully(output, new Uint8Array(scales.buffer), vocab * hidden);
    await output.sync();
  } finally {
    await output.close();
    await input.close();
  }
}

const { abs, floor, fround } = Math;

/** Symmetric 8-bit per block of 32 along each row (std::round halves away from zero, as MLAS's quantizers do). */
export function quantizeRows(weights: Float32Array, rows: number, hidden: number, scales: Float32Array): Uint8Array {
  const out = new Uint8Array(rows * hidden);
  const blocks = hidden / LM_HEAD_BLOCK;
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * hidden + b * LM_HEAD_BLOCK;
      let amax = 0;
      for (let i = 0; i < LM_HEAD_BLOCK; i++) {
        const v = abs(weights[start + i]);
        if (v > amax) amax = v;
      }
      const scale = fround(amax / 127);
      scales[r * blocks + b] = scale;
      const inverse = scale === 0 ? 0 : fround(1 / scale);
      for (let i = 0; i < LM_HEAD_BLOCK; i++) {
        const x = fround(weights[start + i] * inverse);
        let q = x < 0 ? -floor(-x + 0.5) : floor(x + 0.5);
        if (q > 127) q = 127;
        else if (q < -127) q = -127;
        out[start + i] = q + 128;
      }
    }
  }
  return out;
}

async function readRows(file: import('fs').promises.FileHandle, offset: number, count: number): Promise<Float32Array> {
  const buffer = Buffer.alloc(count * 4);
  await readFully(file, buffer, offset);
  return new Float32Array(buffer.buffer, buffer.byteOffset, count);
}

/** Columns [first, first + count) of a [hidden, vocab] float32 matrix, as rows. */
async function readColumns(file: import('fs').promises.FileHandle, source: ByteSource, hidden: number, vocab: number, first: number, count: number): Promise<Float32Array> {
  const out = new Float32Array(count * hidden);
  const row = Buffer.alloc(count * 4);
  for (let h = 0; h < hidden; h++) {
    await readFully(file, row, source.offset + (h * vocab + first) * 4);
    const values = new Float32Array(row.buffer, row.byteOffset, count);
    for (let c = 0; c < count; c++) out[c * hidden + h] = values[c];
  }
  return out;
}
