import { DTYPE_NAMES, DtypeName, isDtypeName, onnxFileForDtype } from '../dtypeFiles';
import { TINY_QUANTIZATIONS, WEIGHT_DTYPES } from './tinyModelOptions';
import type { KvDtype, TinyModelOptions, TinyQuantization, WeightDtype } from './tinyModelOptions';

/**
 * The graph files one tiny-model folder can hold, named and built the way transformers.js's scripts/quantize.py
 * derives its dtype variants from an fp32 export (same weights, same configs and tokenizer, one file each):
 *   fp32   onnx/model.onnx            float32 weights
 *   fp16   onnx/model_fp16.onnx       float16 weights
 *   q8     onnx/model_quantized.onnx  8-bit dynamic quantization (int8 weights; uint8 when the graph has
 *                                     GroupQueryAttention: quantize.py's QUINT8_OPS rule)
 *   int8   onnx/model_int8.onnx       8-bit dynamic quantization, int8 weights
 *   uint8  onnx/model_uint8.onnx      8-bit dynamic quantization, uint8 weights
 *   q4     onnx/model_q4.onnx         com.microsoft MatMulNBits, 4 bits, block 32, symmetric
 *   q4f16  onnx/model_q4f16.onnx      q4 with float16 weights and scales
 *   bnb4   onnx/model_bnb4.onnx       com.microsoft MatMulBnb4, NF4, block 64
 * Only the linear projections (q/k/v/o, gate/up/down) are quantized. The embedding, which is also the tied lm_head
 * (a Gemm, not a MatMul, so the quantizers leave it alone), stays float.
 * Dynamic 8-bit graphs quantize each projection's input with one scale for the whole tensor, every row of the batch
 * included: in those files a row's result depends on its batch-mates, as in the real exports.
 * MatMulNBits / MatMulBnb4 run another CPU kernel for a single row than for several: last-bit differences only.
 */

/** MatMul4BitsQuantizer's default block size (transformers.js's q4/q4f16). */
export const Q4_BLOCK_SIZE = 32;
/** MatMulBnb4Quantizer's block size in transformers.js's bnb4 mode. */
export const BNB4_BLOCK_SIZE = 64;

/** The operator form of the linear projections. */
export type LinearFormat =
  | { kind: 'float' }
  | { kind: 'matMulNBits'; bits: 4; blockSize: number }
  /** DynamicQuantizeLinear on the activation, MatMulInteger, then the two scales (onnxruntime's IntegerOps mode). */
  | { kind: 'dynamic8'; signed: boolean }
  | { kind: 'bnb4'; blockSize: number };

export interface GraphVariant {
  /** The transformers.js dtype this file stands for. */
  dtype: DtypeName;
  /** Relative to the model folder, with '/'. */
  fileName: string;
  quantize: TinyQuantization;
  linear: LinearFormat;
  /**
   * float16: every weight is stored as float16, the linear projections (and the tied lm_head) run in float16 with
   * Casts around them, and the KV cache and logits are float16, as in the real fp16/q4f16 exports' I/O.
   */
  weightDtype: WeightDtype;
  kvDtype: KvDtype;
}

const DTYPE_FORMATS: Readonly<Record<DtypeName, { quantize: TinyQuantization; weightDtype: WeightDtype }>> = Object.freeze({
  fp32: { quantize: 'none', weightDtype: 'float32' },
  fp16: { quantize: 'none', weightDtype: 'float16' },
  q8: { quantize: 'q8', weightDtype: 'float32' },
  int8: { quantize: 'int8', weightDtype: 'float32' },
  uint8: { quantize: 'uint8', weightDtype: 'float32' },
  q4: { quantize: 'q4', weightDtype: 'float32' },
  q4f16: { quantize: 'q4', weightDtype: 'float16' },
  bnb4: { quantize: 'bnb4', weightDtype: 'float32' },
});

/** The (quantize, weightDtype) pair a transformers.js dtype is built with. */
export function formatOfDtype(dtype: DtypeName): { quantize: TinyQuantization; weightDtype: WeightDtype } {
  return { ...DTYPE_FORMATS[dtype] };
}

/** The transformers.js dtype of a (quantize, weightDtype) pair; throws when no export uses the pair. */
export function dtypeOfFormat(quantize: TinyQuantization, weightDtype: WeightDtype): DtypeName {
  const found = DTYPE_NAMES.find((dtype) => DTYPE_FORMATS[dtype].quantize === quantize && DTYPE_FORMATS[dtype].weightDtype === weightDtype);
  if (!found) {
    throw new Error(`quantize ${quantize} with weightDtype ${weightDtype} is not a transformers.js variant (float16 weights go with none or q4)`);
  }
  return found;
}

/** True when the options ask for anything beyond the default single float32 graph. */
export function usesGraphVariants(o: TinyModelOptions): boolean {
  return o.quantize !== undefined || o.weightDtype !== undefined || o.fileName !== undefined || o.variants !== undefined;
}

/** The graph files to write, in order; throws an Error naming the bad option. */
export function resolveGraphVariants(o: TinyModelOptions): GraphVariant[] {
  if (o.quantize !== undefined && !TINY_QUANTIZATIONS.includes(o.quantize)) {
    throw new Error(`quantize must be one of ${TINY_QUANTIZATIONS.join(', ')} (got ${String(o.quantize)})`);
  }
  if (o.weightDtype !== undefined && !WEIGHT_DTYPES.includes(o.weightDtype)) {
    throw new Error(`weightDtype must be one of ${WEIGHT_DTYPES.join(', ')} (got ${String(o.weightDtype)})`);
  }
  if (o.variants === undefined) {
    const dtype = dtypeOfFormat(o.quantize ?? 'none', o.weightDtype ?? 'float32');
    return [variantOf(o, dtype, o.fileName === undefined ? onnxFileForDtype(dtype) : checkFileName(o.fileName))];
  }
  if (o.quantize !== undefined || o.weightDtype !== undefined || o.fileName !== undefined) {
    throw new Error('variants names every graph file; it cannot be combined with quantize, weightDtype or fileName');
  }
  if (!Array.isArray(o.variants) || o.variants.length === 0) throw new Error('variants must list at least one dtype');
  const seen = new Set<string>();
  return o.variants.map((dtype) => {
    if (!isDtypeName(dtype)) throw new Error(`variants: unknown dtype ${String(dtype)} (expected ${DTYPE_NAMES.join(', ')})`);
    if (seen.has(dtype)) throw new Error(`variants: ${dtype} is listed twice`);
    seen.add(dtype);
    return variantOf(o, dtype, onnxFileForDtype(dtype));
  });
}

function variantOf(o: TinyModelOptions, dtype: DtypeName, fileName: string): GraphVariant {
  const { quantize, weightDtype } = DTYPE_FORMATS[dtype];
  return {
    dtype,
    fileName,
    quantize,
    linear: linearFormat(quantize, o),
    weightDtype,
    // A float16 graph's I/O is float16 throughout, whatever kvDtype says (that applies to float32-weight graphs).
    kvDtype: weightDtype === 'float16' ? 'float16' : o.kvDtype,
  };
}

function linearFormat(quantize: TinyQuantization, o: TinyModelOptions): LinearFormat {
  switch (quantize) {
    case 'none':
      return { kind: 'float' };
    case 'q4':
      return { kind: 'matMulNBits', bits: 4, blockSize: Q4_BLOCK_SIZE };
    case 'q8':
      return { kind: 'dynamic8', signed: o.attention !== 'gqa' };
    case 'int8':
      return { kind: 'dynamic8', signed: true };
    case 'uint8':
      return { kind: 'dynamic8', signed: false };
    case 'bnb4':
      return { kind: 'bnb4', blockSize: BNB4_BLOCK_SIZE };
  }
}

function checkFileName(fileName: string): string {
  const normalized = fileName.replace(/\\/g, '/');
  if (!normalized.endsWith('.onnx') || normalized.startsWith('/') || normalized.split('/').includes('..')) {
    throw new Error(`fileName must be a relative path ending in .onnx inside the model folder (got ${fileName})`);
  }
  return normalized;
}
