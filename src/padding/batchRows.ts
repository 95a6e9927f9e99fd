import { KvCache } from '../runtime/kvCache';
import { PaddingSide } from './paddingSide';

/**
 * The running batch as the padding protocol lays it out: the KV cache plus the attention mask that describes it.
 * `mask` is [batch × width] int64 with 1 for a real token — the very array the graph gets as `attention_mask`, kept from
 * step to step and grown in place (see `appendMaskColumns`); `counts[b]` is row b's number of real tokens, which is also
 * the position id of its next token.
 */
export interface BatchRows {
  cache: KvCache;
  mask: BigInt64Array;
  width: number;
  counts: number[];
}

/** Columns of room a new mask gets beyond `width`: a quarter more, at least 32, so decode steps grow it in place. */
function roomFor(width: number): number {
  return Math.max(width + 32, Math.ceil(width * 1.25));
}

/**
 * The mask of rows whose real tokens are compacted at one side: row b has `counts[b]` ones, first (right padding) or last
 * (left padding) in its `width` columns. The one place such masks are made: prefill, rebuild and prefix copies use it.
 */
export function compactMask(counts: readonly number[], width: number, side: PaddingSide): BigInt64Array {
  const mask = new BigInt64Array(counts.length * roomFor(width)).subarray(0, counts.length * width);
  counts.forEach((count, b) => {
    const start = b * width + (side === 'right' ? 0 : width - count);
    mask.fill(1n, start, start + count);
  });
  return mask;
}

/**
 * The mask [batch × width] with `added` columns of 1 appended to every row: [batch × (width + added)]. Written in the same
 * memory when it has room (rows moved back to front, so nothing is overwritten before it is moved), else copied into
 * new memory with room to grow. The mask passed in is consumed.
 */
export function appendMaskColumns(mask: BigInt64Array, batch: number, width: number, added: number): BigInt64Array {
  const wider = width + added;
  const room = (mask.buffer.byteLength - mask.byteOffset) / BigInt64Array.BYTES_PER_ELEMENT;
  let out: BigInt64Array;
  if (room >= batch * wider) {
    out = new BigInt64Array(mask.buffer, mask.byteOffset, batch * wider);
    for (let b = batch - 1; b > 0; b--) out.copyWithin(b * wider, b * width, b * width + width);
  } else {
    out = new BigInt64Array(batch * roomFor(wider)).subarray(0, batch * wider);
    for (let b = 0; b < batch; b++) out.set(mask.subarray(b * width, b * width + width), b * wider);
  }
  for (let b = 0; b < batch; b++) out.fill(1n, b * wider + width, (b + 1) * wider);
  return out;
}
