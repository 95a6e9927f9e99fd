import { NEG_INF } from './logitsMath';

/**
 * Selection and ranking of logits without sorting the vocabulary. Rank order everywhere: logit descending,
 * then token id ascending (a fixed tie rule keeps results reproducible).
 */

/** True when (aValue, aId) ranks below (bValue, bId): smaller logit, or same logit and larger id. */
function ranksBelow(aValue: number, aId: number, bValue: number, bId: number): boolean {
  return aValue < bValue || (aValue === bValue && aId > bId);
}

/**
 * The ids of the `n` highest logits (masked -Infinity and NaN entries excluded), best first.
 * A size-n min-heap: O(V log n) worst case, and O(V) in practice since most entries fail the first comparison.
 */
export function topNIndices(logits: Float32Array, n: number): number[] {
  const size = Math.min(n, logits.length);
  if (size <= 0) return [];
  const heapIds = new Int32Array(size);
  const heapValues = new Float64Array(size);
  let count = 0;

  const swap = (a: number, b: number): void => {
    const id = heapIds[a];
    heapIds[a] = heapIds[b];
    heapIds[b] = id;
    const value = heapValues[a];
    heapValues[a] = heapValues[b];
    heapValues[b] = value;
  };
  const below = (a: number, b: number): boolean => ranksBelow(heapValues[a], heapIds[a], heapValues[b], heapIds[b]);
  const siftDown = (): void => {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let lowest = i;
      if (left < count && below(left, lowest)) lowest = left;
      if (right < count && below(right, lowest)) lowest = right;
      if (lowest === i) return;
      swap(i, lowest);
      i = lowest;
    }
  };

  for (let id = 0; id < logits.length; id++) {
    const value = logits[id];
    if (!(value > NEG_INF)) continue; // masked or NaN
    if (count < size) {
      let i = count++;
      heapIds[i] = id;
      heapValues[i] = value;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!below(i, parent)) break;
        swap(i, parent);
        i = parent;
      }
    } else if (value > heapValues[0]) {
      // ids only grow during the scan, so an equal logit ranks below the heap minimum: a strict test suffices
      heapIds[0] = id;
      heapValues[0] = value;
      siftDown();
    }
  }

  const result = Array.from(heapIds.subarray(0, count));
  result.sort((a, b) => logits[b] - logits[a] || a - b);
  return result;
}

/** The k-th largest logit (1-based k), or -Infinity when fewer than k entries are unmasked. */
export function kthLargestLogit(logits: Float32Array, k: number): number {
  const top = topNIndices(logits, k);
  return top.length < k ? NEG_INF : logits[top[top.length - 1]];
}

const ID_SPACE = 2 ** 21;

/** A float32's bits mapped to an unsigned integer that increases with the value (-0 counts as +0). */
function orderedBits(bits: number): number {
  if (bits === 0x80000000) return 0x80000000;
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/**
 * Sorts `ids` in place into rank order (logit descending, id ascending). Each (logit, id) pair is packed into
 * one exactly representable double (32 ordered bits × 2^21 + id < 2^53) so the engine's native numeric sort
 * does the work — several times faster than a comparator on large candidate sets. O(C log C).
 */
export function sortByRank(ids: Int32Array, logits: Float32Array): void {
  if (logits.length > ID_SPACE) {
    ids.sort((a, b) => logits[b] - logits[a] || a - b);
    return;
  }
  const bits = new Uint32Array(logits.buffer, logits.byteOffset, logits.length);
  const keys = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) keys[i] = (0xffffffff - orderedBits(bits[ids[i]])) * ID_SPACE + ids[i];
  keys.sort();
  for (let i = 0; i < ids.length; i++) ids[i] = keys[i] % ID_SPACE;
}
