/**
 * Where a row's real tokens sit in the `present` cache the graph returns. This is a property of the graph kind:
 *
 * - `mask-aligned` (plain attention ops): present = past ++ new along the sequence axis, so cache slot j holds whatever
 *   was fed at mask column j; a row's real tokens are exactly the slots whose mask bit is 1 (pads and holes included).
 * - `compacted` (com.microsoft GroupQueryAttention): the op writes each row's new tokens at slot `seqlens_k`, i.e. right
 *   after the row's own real tokens, so the real tokens are always slots 0..count-1 and the slots after them hold junk,
 *   whatever the mask looks like (GQA only reads the mask's row sums and its width).
 */
export interface CacheLayout {
  readonly name: 'mask-aligned' | 'compacted';
  realSlots(maskRow: BigInt64Array, count: number): number[];
  /**
   * Whether one step may append several tokens to several rows that already have a past. onnxruntime's
   * GroupQueryAttention refuses it ("batch_size must be 1 when sequence_length > 1 and past context is given").
   */
  readonly multiRowExtend: boolean;
}

export const maskAlignedLayout: CacheLayout = {
  name: 'mask-aligned',
  multiRowExtend: true,
  realSlots(maskRow) {
    const slots: number[] = [];
    for (let j = 0; j < maskRow.length; j++) if (maskRow[j] !== 0n) slots.push(j);
    return slots;
  },
};

export const compactedLayout: CacheLayout = {
  name: 'compacted',
  multiRowExtend: false,
  realSlots(_maskRow, count) {
    return Array.from({ length: count }, (_, j) => j);
  },
};
