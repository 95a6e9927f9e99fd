/**
 * Deterministic pseudo-random numbers for the tiny-model weights.
 * mulberry32: tiny, fast and good enough for random weights; identical on every platform.
 */
// Module-level alias: under jest (a vm context) every `Math.x` lookup in a hot loop costs ~100x.
const imul = Math.imul;

export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Fills `target` with uniform values of mean `mean` and standard deviation `std`. */
  fillUniform(target: Float32Array, mean: number, std: number): Float32Array {
    const halfWidth = Math.sqrt(3) * std; // uniform on [-a, a] has std a/sqrt(3)
    for (let i = 0; i < target.length; i++) target[i] = mean + (2 * this.next() - 1) * halfWidth;
    return target;
  }
}

/**
 * A seed for one named stream, so each weight tensor's values depend only on (seed, name),
 * not on the order tensors are generated in (other graph layouts can reuse the same weights).
 */
export function deriveSeed(seed: number, streamName: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0); // FNV-1a over the name, started from the seed
  for (let i = 0; i < streamName.length; i++) {
    hash ^= streamName.charCodeAt(i);
    hash = imul(hash, 0x01000193);
  }
  hash ^= imul(seed >>> 0, 0x9e3779b1);
  hash ^= hash >>> 16;
  hash = imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}
