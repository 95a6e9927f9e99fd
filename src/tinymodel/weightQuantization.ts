/**
 * Weight quantizers reproducing what onnxruntime's quantization tools write into real exports (the ones
 * transformers.js's scripts/quantize.py runs). Input weights are stored [K, N] = [in, out], row-major, as
 * the tiny graphs multiply `x @ W`. Arithmetic is float32 like the tools' own kernels.
 */

// Module-level aliases: under jest (a vm context) every `Math.x` lookup in a hot loop costs ~100x.
const { abs, ceil, floor, fround, max, min } = Math;

/** std::roundf: halves away from zero (MLAS's blockwise quantizers). */
function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -floor(-x + 0.5) : floor(x + 0.5);
}

/** numpy.round: halves to even (onnxruntime.quantization's 8-bit weight quantizer). */
function roundHalfToEven(x: number): number {
  const r = floor(x + 0.5);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface BlockwiseQ4 {
  /** uint8 [N, kBlocks, blockSize/2]: along K, element 2i in the low nibble of byte i, 2i+1 in the high nibble. */
  packed: Uint8Array;
  /** float32 [N, kBlocks]. */
  scales: Float32Array;
  kBlocks: number;
}

/**
 * com.microsoft MatMulNBits weights, bits=4, symmetric (MatMul4BitsQuantizer's default, so no zero_points input:
 * the op's default zero point 8 applies). Per block of `blockSize` values along K of each output column: scale =
 * (the value of largest magnitude, with its sign) / -8, q = clamp(round(v / scale) + 8, 0, 15); dequantized
 * (q - 8) * scale. K is padded with zeros up to whole blocks, as the quantizer does.
 */
export function quantizeMatMulNBits4(weight: Float32Array, k: number, n: number, blockSize: number): BlockwiseQ4 {
  assertBlockSize(blockSize);
  const kBlocks = ceil(k / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(n * kBlocks * blob);
  const scales = new Float32Array(n * kBlocks);
  for (let col = 0; col < n; col++) {
    for (let block = 0; block < kBlocks; block++) {
      const start = block * blockSize;
      const end = min(k, start + blockSize);
      let lowest = 0;
      let highest = 0;
      for (let row = start; row < end; row++) {
        const v = weight[row * n + col];
        if (v < lowest) lowest = v;
        if (v > highest) highest = v;
      }
      const scale = fround((abs(highest) > abs(lowest) ? highest : lowest) / -8);
      scales[col * kBlocks + block] = scale;
      const reciprocal = scale === 0 ? 0 : fround(1 / scale);
      const base = (col * kBlocks + block) * blob;
      for (let row = start; row < end; row++) {
        const q = max(0, min(15, roundHalfAwayFromZero(fround(weight[row * n + col] * reciprocal)) + 8));
        const offset = row - start;
        packed[base + (offset >> 1)] |= offset & 1 ? q << 4 : q;
      }
      // Padding rows quantize 0 to 8 (the zero point).
      for (let offset = end - start; offset < blockSize; offset++) packed[base + (offset >> 1)] |= offset & 1 ? 8 << 4 : 8;
    }
  }
  return { packed, scales, kBlocks };
}

export interface PerTensor8Bit {
  /** int8 (signed) or uint8 values, same [K, N] layout as the float weight (MatMulInteger's B). */
  data: Int8Array | Uint8Array;
  scale: number;
  zeroPoint: number;
}

/**
 * Per-tensor 8-bit weights as onnxruntime's dynamic quantizer writes them for MatMulInteger (per_channel off,
 * reduce_range off, transformers.js's defaults). int8 is symmetric: scale = max|w| / 127, zero point 0, range
 * [-127, 127]. uint8 is asymmetric over [min(w, 0), max(w, 0)]: scale = range / 255, zero point =
 * round(-min / scale). Values: clamp(round(w / scale) + zero point), numpy's half-to-even rounding.
 */
export function quantizePerTensor8Bit(weight: Float32Array, signed: boolean): PerTensor8Bit {
  let lowest = 0;
  let highest = 0;
  for (let i = 0; i < weight.length; i++) {
    const v = weight[i];
    if (v < lowest) lowest = v;
    if (v > highest) highest = v;
  }
  let scale: number;
  let zeroPoint: number;
  let qMin: number;
  let qMax: number;
  if (signed) {
    const absMax = max(abs(lowest), abs(highest));
    [qMin, qMax] = [-127, 127];
    scale = fround((2 * absMax) / (qMax - qMin));
    zeroPoint = 0;
  } else {
    [qMin, qMax] = [0, 255];
    scale = fround((highest - lowest) / (qMax - qMin));
    zeroPoint = max(qMin, min(qMax, roundHalfToEven(qMin - lowest / scale)));
  }
  if (scale === 0) scale = 1; // an all-zero weight: any scale reproduces it
  const data = signed ? new Int8Array(weight.length) : new Uint8Array(weight.length);
  for (let i = 0; i < weight.length; i++) {
    data[i] = max(qMin, min(qMax, roundHalfToEven(fround(weight[i] / scale)) + zeroPoint));
  }
  return { data, scale, zeroPoint };
}

/** bitsandbytes' NF4 code book (normal-float 4-bit), the values a nibble decodes to before scaling by absmax. */
export const NF4_CODE_BOOK: readonly number[] = Object.freeze([
  -1, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1,
]);

export interface Bnb4 {
  /** uint8 [ceil(N*K / 2)]: W transposed to [N, K] (PyTorch's layout), flattened, two codes a byte, the first in the high nibble. */
  packed: Uint8Array;
  /** float32 [ceil(N*K / blockSize)]: the largest magnitude of each block of the flattened [N, K] weight. */
  absmax: Float32Array;
}

/**
 * com.microsoft MatMulBnb4 weights, NF4 (MatMulBnb4Quantizer, transformers.js's bnb4 mode, block 64 by default):
 * blocks run over the flattened transposed weight; each value becomes the nearest code-book entry of v / absmax.
 */
export function quantizeBnb4Nf4(weight: Float32Array, k: number, n: number, blockSize: number): Bnb4 {
  assertBlockSize(blockSize);
  const total = n * k;
  const transposed = new Float32Array(total);
  for (let row = 0; row < k; row++) for (let col = 0; col < n; col++) transposed[col * k + row] = weight[row * n + col];
  const blocks = ceil(total / blockSize);
  const absmax = new Float32Array(blocks);
  const packed = new Uint8Array(ceil(total / 2));
  const midpoints = NF4_CODE_BOOK.slice(1).map((next, i) => fround((NF4_CODE_BOOK[i] + next) / 2));
  const nearestCode = (x: number): number => {
    let code = 0;
    while (code < midpoints.length && x > midpoints[code]) code++;
    return code;
  };
  for (let block = 0; block < blocks; block++) {
    const start = block * blockSize;
    const end = min(total, start + blockSize);
    let largest = 0;
    for (let i = start; i < end; i++) largest = max(largest, abs(transposed[i]));
    absmax[block] = largest;
    const reciprocal = largest === 0 ? 0 : fround(1 / largest);
    for (let i = start; i < end; i++) {
      const code = nearestCode(fround(transposed[i] * reciprocal));
      packed[i >> 1] |= i & 1 ? code : code << 4;
    }
  }
  if (total & 1) packed[packed.length - 1] |= nearestCode(0); // the odd tail's low nibble holds a zero
  return { packed, absmax };
}

function assertBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`quantization block size must be a power of two >= 16 (got ${blockSize})`);
  }
}
