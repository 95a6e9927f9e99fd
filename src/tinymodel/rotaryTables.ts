import { TinyModelOptions } from './tinyModelOptions';

// Module-level aliases: under jest (a vm context) every `Math.x` lookup in a hot loop costs ~100x.
const { cos, sin, fround, pow } = Math;

/** inv_freq[i] = 1 / theta^(2i / head_dim), i < head_dim/2 (HF Qwen3, rotate-half layout). */
export function rotaryInverseFrequencies(o: TinyModelOptions): number[] {
  return Array.from({ length: o.headDim / 2 }, (_, i) => 1 / pow(o.ropeTheta, (2 * i) / o.headDim));
}

/**
 * The cos/sin caches of com.microsoft RotaryEmbedding / GroupQueryAttention: [maxPositionEmbeddings, head_dim/2],
 * row p = cos/sin(p * inv_freq). The angle is rounded as the plain graph computes it (float32 position times
 * float32 inv_freq), so both graph kinds rotate by the same angles.
 */
export function rotaryCacheTables(o: TinyModelOptions): { cos: Float32Array; sin: Float32Array } {
  const half = o.headDim / 2;
  const invFreq = rotaryInverseFrequencies(o).map((f) => fround(f));
  const cosTable = new Float32Array(o.maxPositionEmbeddings * half);
  const sinTable = new Float32Array(o.maxPositionEmbeddings * half);
  for (let position = 0; position < o.maxPositionEmbeddings; position++) {
    const p = fround(position);
    for (let i = 0; i < half; i++) {
      const angle = fround(p * invFreq[i]);
      cosTable[position * half + i] = cos(angle);
      sinTable[position * half + i] = sin(angle);
    }
  }
  return { cos: cosTable, sin: sinTable };
}
