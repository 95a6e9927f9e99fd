import { KvArray, KvShape, kvBytesPerToken } from './kvShape';

/**
 * The KV cache of a batch, in memory the runtime owns: one key and one value array per layer, laid out
 * [batch, kvHeads, stride, headDim], of which slots 0..length-1 of every (row, head) are the cache. `stride` is the slot
 * capacity per (row, head): equal to `length` for a dense tensor, larger for a capacity buffer that grows in place
 * (GroupQueryAttention's shared past/present buffer).
 *
 * A cache handed to a runner (`step`'s past, `gather`'s sources) is consumed: the runner may write into its memory or
 * reuse it, so the caller keeps only what the runner returns.
 */
export class KvCache {
  constructor(
    readonly shape: KvShape,
    readonly batch: number,
    readonly length: number,
    readonly stride: number,
    /** keys[i] and values[i] for layer i; each holds at least batch × kvHeads × stride × headDim elements. */
    readonly keys: KvArray[],
    readonly values: KvArray[],
  ) {
    if (stride < length) throw new Error(`KV cache stride ${stride} is shorter than its length ${length}`);
  }

  /** Elements of one layer tensor as the graph sees it ([batch, kvHeads, stride, headDim]). */
  get tensorElements(): number {
    return this.batch * this.shape.kvHeads * this.stride * this.shape.headDim;
  }

  /** Bytes of cached tokens (length slots per row), whatever the capacity behind them. */
  get bytes(): number {
    return kvBytesPerToken(this.shape) * this.batch * this.length;
  }
}

/** One output row of a gather: `slots[j]` is the slot of `cache` row `row` copied into output slot j, or -1 (left as is). */
export interface GatherSource {
  cache: KvCache;
  row: number;
  slots: number[];
}

/**
 * Copies rows of source caches into `out` (one layer's key or value array of an output cache of `stride` slots),
 * output row b from `sources[b]`, starting at output row `firstRow`. Maximal runs of consecutive slots move with one
 * typed-array copy each. `pick` selects the layer's array of a source cache.
 *
 * Safe in place (a source sharing `out`) when every source row's data lies at or after its destination and sources are
 * in increasing order: each copy then only overwrites data already moved.
 */
export function gatherLayer(
  out: KvArray,
  shape: KvShape,
  stride: number,
  sources: readonly GatherSource[],
  pick: (cache: KvCache) => KvArray,
  firstRow = 0,
): void {
  const { kvHeads, headDim } = shape;
  sources.forEach(({ cache, row, slots }, index) => {
    const outRow = firstRow + index;
    const source = pick(cache);
    for (let head = 0; head < kvHeads; head++) {
      const sourceBase = (row * kvHeads + head) * cache.stride * headDim;
      const outBase = (outRow * kvHeads + head) * stride * headDim;
      let j = 0;
      while (j < slots.length) {
        const start = slots[j];
        if (start < 0) { j++; continue; }
        let run = 1;
        while (j + run < slots.length && slots[j + run] === start + run) run++;
        const from = sourceBase + start * headDim;
        const to = outBase + j * headDim;
        if (from !== to || source !== out) {
          if (source === out) out.copyWithin(to, from, from + run * headDim);
          else out.set(source.subarray(from, from + run * headDim), to);
        }
        j += run;
      }
    }
  });
}
