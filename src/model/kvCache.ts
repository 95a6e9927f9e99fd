import * as ort from 'onnxruntime-node';

export type KvDtype = 'float32' | 'float16';
type KvArray = Float32Array | Uint16Array;

/** Shape of one layer's key or value tensor: [batch, kvHeads, length, headDim]. */
export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  dtype: KvDtype;
}

/**
 * The KV cache of a batch: one key and one value tensor per layer, [batch, kvHeads, length, headDim].
 * float16 caches stay float16 (Uint16Array-backed ORT tensors): rows are moved as raw 16-bit words, never upcast.
 */
export class KvCache {
  constructor(
    readonly shape: KvShape,
    readonly batch: number,
    readonly length: number,
    /** keys[i] and values[i] for layer i. */
    readonly keys: ort.Tensor[],
    readonly values: ort.Tensor[],
  ) {}

  static empty(shape: KvShape, batch: number): KvCache {
    const make = () => new ort.Tensor(shape.dtype, allocate(shape.dtype, 0), [batch, shape.kvHeads, 0, shape.headDim]);
    const keys = Array.from({ length: shape.layers }, make);
    const values = Array.from({ length: shape.layers }, make);
    return new KvCache(shape, batch, 0, keys, values);
  }

  /** Bytes held by this cache. */
  get bytes(): number {
    return bytesPerElement(this.shape.dtype) * 2 * this.shape.layers * this.batch * this.shape.kvHeads * this.length * this.shape.headDim;
  }

  /**
   * Builds a new cache of `length` slots from rows of source caches. For each output row, `slots[j]` is the source slot copied
   * into output slot j (or -1 to leave it zero). This single primitive implements row removal, merging and compaction.
   */
  static gather(shape: KvShape, length: number, rows: { cache: KvCache; row: number; slots: number[] }[]): KvCache {
    const keys: ort.Tensor[] = [];
    const values: ort.Tensor[] = [];
    for (let layer = 0; layer < shape.layers; layer++) {
      keys.push(gatherTensor(shape, length, rows, (c) => c.keys[layer]));
      values.push(gatherTensor(shape, length, rows, (c) => c.values[layer]));
    }
    return new KvCache(shape, rows.length, length, keys, values);
  }

  /** Adopts the `present.*` outputs of a session run as the new cache. */
  static fromPresent(shape: KvShape, outputs: Record<string, ort.Tensor>, names: { key: string; value: string }[]): KvCache {
    const keys = names.map((n) => outputs[n.key]);
    const values = names.map((n) => outputs[n.value]);
    const dims = keys[0].dims;
    return new KvCache(shape, Number(dims[0]), Number(dims[2]), keys, values);
  }
}

function gatherTensor(
  shape: KvShape,
  length: number,
  rows: { cache: KvCache; row: number; slots: number[] }[],
  pick: (cache: KvCache) => ort.Tensor,
): ort.Tensor {
  const { kvHeads, headDim, dtype } = shape;
  const out = allocate(dtype, rows.length * kvHeads * length * headDim);
  rows.forEach(({ cache, row, slots }, outRow) => {
    const source = pick(cache).data as KvArray;
    const sourceLength = cache.length;
    for (let head = 0; head < kvHeads; head++) {
      const sourceBase = ((row * kvHeads + head) * sourceLength) * headDim;
      const outBase = ((outRow * kvHeads + head) * length) * headDim;
      // Copy maximal runs of consecutive slots with one typed-array copy each.
      let j = 0;
      while (j < slots.length) {
        const start = slots[j];
        if (start < 0) { j++; continue; }
        let run = 1;
        while (j + run < slots.length && slots[j + run] === start + run) run++;
        out.set(source.subarray(sourceBase + start * headDim, sourceBase + (start + run) * headDim), outBase + j * headDim);
        j += run;
      }
    }
  });
  return new ort.Tensor(dtype, out, [rows.length, kvHeads, length, headDim]);
}

function allocate(dtype: KvDtype, size: number): KvArray {
  return dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size);
}

export function bytesPerElement(dtype: KvDtype): number {
  return dtype === 'float16' ? 2 : 4;
}
