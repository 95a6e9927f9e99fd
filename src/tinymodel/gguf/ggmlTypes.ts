import { float32ToFloat16 } from '../../runtime/float16';

/**
 * The ggml tensor types the GGUF writer produces, with llama.cpp's reference block formats (ggml-common.h,
 * ggml-quants.c `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref`):
 *   F32   4 bytes per element
 *   F16   2 bytes per element (IEEE half, round to nearest even)
 *   Q8_0  blocks of 32: float16 d = max|x| / 127, then 32 int8 q = round(x / d)          (34 bytes)
 *   Q4_0  blocks of 32: float16 d = (the signed value of largest magnitude) / -8, then 16 bytes of 4-bit
 *         q = min(15, trunc(x / d + 8.5)); byte j holds element j (low nibble) and element j + 16 (high nibble)  (18 bytes)
 */
export const GGUF_TENSOR_TYPES = ['F32', 'F16', 'Q8_0', 'Q4_0'] as const;
export type GgufTensorType = (typeof GGUF_TENSOR_TYPES)[number];

/** ggml_type enum values (ggml.h). */
export const GGML_TYPE_ID: Readonly<Record<GgufTensorType, number>> = Object.freeze({ F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 });

/** llama_ftype of a file whose 2-D weights are all of one type (llama.h: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7). */
export const LLAMA_FTYPE: Readonly<Record<GgufTensorType, number>> = Object.freeze({ F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 });

/** Elements per block (QK8_0, QK4_0) and bytes per block. */
export const QK = 32;
const BLOCK_BYTES: Readonly<Record<GgufTensorType, { elements: number; bytes: number }>> = Object.freeze({
  F32: { elements: 1, bytes: 4 },
  F16: { elements: 1, bytes: 2 },
  Q8_0: { elements: QK, bytes: 2 + QK },
  Q4_0: { elements: QK, bytes: 2 + QK / 2 },
});

export function isGgufTensorType(value: string): value is GgufTensorType {
  return (GGUF_TENSOR_TYPES as readonly string[]).includes(value);
}

/** Bytes of a tensor of `elements` values; the row length (ne[0]) must be a multiple of the block size. */
export function tensorBytes(type: GgufTensorType, rowLength: number, elements: number): number {
  const block = BLOCK_BYTES[type];
  if (rowLength % block.elements !== 0) {
    throw new Error(`${type} needs rows of a multiple of ${block.elements} values (got a row of ${rowLength})`);
  }
  return (elements / block.elements) * block.bytes;
}

// Module-level aliases: under jest (a vm context) every `Math.x` lookup in a hot loop costs ~100x.
const { fround, abs, max, min, trunc, floor, sign } = Math;

/** Encodes `values` (row-major, rows a multiple of 32 long) as `type`; little-endian bytes. */
export function encodeTensor(type: GgufTensorType, values: Float32Array): Uint8Array {
  switch (type) {
    case 'F32':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'F16': {
      const out = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16(values[i]);
      return new Uint8Array(out.buffer);
    }
    case 'Q8_0':
      return quantizeQ8_0(values);
    case 'Q4_0':
      return quantizeQ4_0(values);
  }
}

/** `quantize_row_q8_0_ref`, in float32 arithmetic step by step (Math.fround), roundf = half away from zero. */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  const blocks = values.length / QK;
  if (!Number.isInteger(blocks)) throw new Error(`Q8_0 needs a multiple of ${QK} values (got ${values.length})`);
  const out = new Uint8Array(blocks * (2 + QK));
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = max(amax, abs(values[base + j]));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const at = b * (2 + QK);
    view.setUint16(at, float32ToFloat16(d), true);
    for (let j = 0; j < QK; j++) {
      const x = fround(values[base + j] * id);
      view.setInt8(at + 2 + j, sign(x) * floor(abs(x) + 0.5));
    }
  }
  return out;
}

/** `quantize_row_q4_0_ref`: d from the signed value of largest magnitude, q = min(15, (int8)(x·id + 8.5f)). */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  const blocks = values.length / QK;
  if (!Number.isInteger(blocks)) throw new Error(`Q4_0 needs a multiple of ${QK} values (got ${values.length})`);
  const half = QK / 2;
  const out = new Uint8Array(blocks * (2 + half));
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const base = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = values[base + j];
      if (amax < abs(v)) {
        amax = abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    const at = b * (2 + half);
    view.setUint16(at, float32ToFloat16(d), true);
    for (let j = 0; j < half; j++) {
      const q0 = min(15, trunc(fround(fround(values[base + j] * id) + 8.5)));
      const q1 = min(15, trunc(fround(fround(values[base + half + j] * id) + 8.5)));
      out[at + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}
