import { allocateKv, bytesPerElement, KvArray, KvShape } from '../kvShape';

/** One set of per-layer key and value arrays of `elements` each: the memory behind a KV cache. */
export interface KvMemory {
  readonly elements: number;
  readonly keys: KvArray[];
  readonly values: KvArray[];
}

/** Spares together hold at most this share of the largest memory allocated: a cache's worth, plus prefill or prefix copies. */
const SPARE_SHARE = 1.5;

/**
 * Copies of a cache's memory the direct runtime may hold at once, for the memory budget: the live cache and the pool's
 * spares (the copy made while the cache grows or the other buffer of a plain graph, and prefill or prefix copies).
 */
export const DIRECT_KV_COPIES = 1 + SPARE_SHARE;

/**
 * The KV memory a runner owns. Memory is allocated only when no spare is large enough (a new capacity), and memory of
 * caches the runner consumed comes back here to be reused, so a decode step allocates nothing.
 */
export class KvMemoryPool {
  private readonly spares: KvMemory[] = [];
  private readonly owners = new WeakMap<KvArray, KvMemory>();
  bytesAllocated = 0;
  private largest = 0;

  /**
   * `keep`: how many unused memories are kept for reuse — what the runtime needs between steps (the alternating buffer of
   * a plain graph, a prefill buffer, a finished wave's batch, a prefix copy).
   */
  constructor(private readonly shape: KvShape, private readonly keep: number) {}

  /** Memory of at least `elements` per layer tensor: the smallest spare that fits, else a new allocation of `allocate`. */
  take(elements: number, allocate = elements): KvMemory {
    let best = -1;
    this.spares.forEach((memory, i) => {
      if (memory.elements >= elements && (best < 0 || memory.elements < this.spares[best].elements)) best = i;
    });
    if (best >= 0) return this.spares.splice(best, 1)[0];
    const size = Math.max(elements, allocate);
    this.largest = Math.max(this.largest, size);
    const memory: KvMemory = {
      elements: size,
      keys: Array.from({ length: this.shape.layers }, () => allocateKv(this.shape.dtype, size)),
      values: Array.from({ length: this.shape.layers }, () => allocateKv(this.shape.dtype, size)),
    };
    this.owners.set(memory.keys[0], memory);
    this.bytesAllocated += 2 * this.shape.layers * size * bytesPerElement(this.shape.dtype);
    return memory;
  }

  /** The memory whose arrays back a cache (undefined for memory this pool did not allocate). */
  memoryOf(keys: readonly KvArray[]): KvMemory | undefined {
    return keys.length > 0 ? this.owners.get(keys[0]) : undefined;
  }

  /**
   * Returns memory for reuse. At most `keep` spares are kept, largest first, together at most SPARE_SHARE × the largest
   * memory ever allocated (DIRECT_KV_COPIES counts them); the rest go to the garbage collector.
   */
  give(memory: KvMemory | undefined): void {
    if (!memory || this.spares.includes(memory)) return;
    const candidates = [...this.spares, memory].sort((a, b) => b.elements - a.elements);
    this.spares.length = 0;
    let total = 0;
    for (const spare of candidates) {
      if (this.spares.length === this.keep || total + spare.elements > SPARE_SHARE * this.largest) continue;
      this.spares.push(spare);
      total += spare.elements;
    }
  }

  clear(): void {
    this.spares.length = 0;
  }
}

/** Slot capacity for a cache that must hold `length` slots and will grow: headroom of a quarter, at least 32 slots. */
export function growableStride(length: number): number {
  const wanted = Math.max(length + 32, Math.ceil(length * 1.25));
  return Math.ceil(wanted / 32) * 32;
}
