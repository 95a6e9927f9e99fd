import { KvCache } from '../runtime/kvCache';
import { StepFeeds } from '../runtime/stepFeeds';
import { StepRunner } from '../runtime/stepRunner';
import { BatchRows, maskToInt64 } from './batchRows';
import { CacheLayout, compactedLayout, maskAlignedLayout } from './cacheLayout';

export type PaddingSide = 'left' | 'right';
import { AttentionKind } from '../attentionKind';

/**
 * The padding protocol: the one place that decides, for a whole run, how prompts are padded, what mask and position ids
 * each step gets, where each row's next-token logits are read, how the cache grows, and how rows are removed or added.
 * The generation loop only calls these methods; it never looks at the graph kind.
 *
 * Why right padding is the default for every graph kind (measured, see NOTES.md):
 * - GroupQueryAttention derives everything from `seqlens_k = sum(mask) - 1` and assumes a row's real tokens are at slots
 *   0..seqlens_k. Left padding puts pads there, and every padded row is silently wrong. Right padding is the only layout
 *   it supports.
 * - Plain attention applies the mask as an additive mask, so any layout is fine as long as the mask marks the real tokens
 *   and position ids count real tokens only. Right padding with the same rules is correct there too.
 * So right padding + explicit positions is correct on both kinds, and one layout keeps one tested code path. Left padding
 * remains available for plain graphs (and, for tests, to demonstrate the GQA failure).
 *
 * Rules (right side):
 * - prefill: row b = its tokens then pads; mask `1…1 0…0`; position ids 0..S-1; next-token logits at column len_b - 1.
 * - decode/extend: append the new tokens' columns of 1s to the previous mask (pads stay 0 in the middle: "holes");
 *   position ids continue from the row's own count of real tokens; logits at the last new column.
 * - rebuild (drop finished rows, admit new ones): copy each kept row's real tokens (found via the graph's cache layout)
 *   to slots 0..count-1 of a fresh cache, mask `1…1 0…0`, width = longest row. Holes disappear, so the cache never grows
 *   past the longest live row. Any row-set change copies the cache anyway, so compaction costs nothing extra.
 * Left side mirrors this: pads first, real tokens right-aligned, position ids = count of real tokens before the column.
 */
export class PaddingProtocol {
  constructor(
    readonly side: PaddingSide,
    readonly layout: CacheLayout,
    private readonly padTokenId: number,
  ) {}

  get description(): string {
    return `${this.side} padding, explicit attention_mask and position_ids, ${this.layout.name} KV cache`;
  }

  /** Feeds for a padded prefill of several prompts (empty past). */
  prefill(prompts: number[][]): StepFeeds {
    const batch = prompts.length;
    const seqLen = Math.max(...prompts.map((p) => p.length));
    if (seqLen === 0) throw new Error('cannot prefill empty prompts');
    const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(this.padTokenId));
    const mask = new Uint8Array(batch * seqLen);
    const positionIds = new BigInt64Array(batch * seqLen);
    const logitColumns: number[] = [];
    prompts.forEach((prompt, b) => {
      const offset = this.side === 'right' ? 0 : seqLen - prompt.length;
      for (let i = 0; i < prompt.length; i++) {
        inputIds[b * seqLen + offset + i] = BigInt(prompt[i]);
        mask[b * seqLen + offset + i] = 1;
      }
      for (let j = 0; j < seqLen; j++) {
        positionIds[b * seqLen + j] = BigInt(this.side === 'right' ? j : Math.max(j - offset, 0));
      }
      logitColumns.push(offset + prompt.length - 1);
    });
    return {
      batch, seqLen, inputIds, positionIds, logitColumns,
      attentionMask: maskToInt64(mask), mask, maskWidth: seqLen,
      past: null,
    };
  }

  /** The batch state after a prefill step, from its feeds and the graph's `present` cache. */
  afterPrefill(feeds: StepFeeds, present: KvCache, prompts: number[][]): BatchRows {
    return { cache: present, mask: feeds.mask, width: feeds.maskWidth, counts: prompts.map((p) => p.length) };
  }

  /**
   * Feeds that append `tokens[b]` to each row: one decode step, a prefill chunk, or the rest of several prompts after their
   * cached prefixes. A row adding fewer tokens than the longest is padded at the end with pads that this step computes as
   * real tokens (mask 1): every graph kind then reads each row's right past length (GroupQueryAttention derives it as
   * seqlens_k + 1 − S), and the row's real tokens never see the pads, which come after them. `afterExtend` drops the pads.
   */
  extend(rows: BatchRows, tokens: number[][]): StepFeeds {
    const batch = tokens.length;
    const seqLen = Math.max(...tokens.map((t) => t.length));
    if (tokens.some((t) => t.length === 0)) throw new Error('extend: every row must add at least one token');
    const width = rows.width + seqLen;
    const mask = new Uint8Array(batch * width);
    const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(this.padTokenId));
    const positionIds = new BigInt64Array(batch * seqLen);
    for (let b = 0; b < batch; b++) {
      mask.set(rows.mask.subarray(b * rows.width, (b + 1) * rows.width), b * width);
      for (let i = 0; i < seqLen; i++) {
        mask[b * width + rows.width + i] = 1;
        if (i < tokens[b].length) inputIds[b * seqLen + i] = BigInt(tokens[b][i]);
        positionIds[b * seqLen + i] = BigInt(rows.counts[b] + i);
      }
    }
    return {
      batch, seqLen, inputIds, positionIds, attentionMask: maskToInt64(mask), mask, maskWidth: width,
      logitColumns: tokens.map((t) => t.length - 1),
      past: rows.cache,
    };
  }

  /**
   * The batch after an extend step: each row gained its real tokens (through its logit column); the trailing pads of a
   * shorter row become holes (mask 0), which the next rebuild removes.
   */
  afterExtend(rows: BatchRows, feeds: StepFeeds, present: KvCache): BatchRows {
    const added = feeds.logitColumns.map((column) => column + 1);
    let mask = feeds.mask;
    if (added.some((n) => n !== feeds.seqLen)) {
      mask = feeds.mask.slice();
      added.forEach((n, b) => mask.fill(0, b * feeds.maskWidth + rows.width + n, (b + 1) * feeds.maskWidth));
    }
    return { cache: present, mask, width: feeds.maskWidth, counts: rows.counts.map((c, b) => c + added[b]) };
  }

  /**
   * A new batch made of the listed rows of one or more batches (row removal, admission of newly prefilled rows, or both),
   * compacted: each row's real tokens at the protocol's side, no holes. The runner does the copy, into memory it owns
   * (possibly the memory of a source batch, which is consumed).
   */
  rebuild(parts: { rows: BatchRows; keep: number[] }[], runner: Pick<StepRunner, 'gather' | 'recycle'>): BatchRows | null {
    // A batch none of whose rows stay (a finished wave) gives its memory back first, so the new batch can be copied into it.
    for (const { rows, keep } of parts) if (keep.length === 0) runner.recycle?.(rows.cache);
    const picked = parts.flatMap(({ rows, keep }) => keep.map((row) => ({ rows, row })));
    if (picked.length === 0) return null;
    const counts = picked.map(({ rows, row }) => rows.counts[row]);
    const width = Math.max(...counts);
    const mask = new Uint8Array(picked.length * width);
    const sources = picked.map(({ rows, row }, b) => {
      const count = rows.counts[row];
      const maskRow = rows.mask.subarray(row * rows.width, (row + 1) * rows.width);
      const real = this.layout.realSlots(maskRow, count);
      if (real.length !== count) throw new Error(`cache layout found ${real.length} real slots for a row of ${count} tokens`);
      const offset = this.side === 'right' ? 0 : width - count;
      const slots = new Array<number>(width).fill(-1);
      for (let j = 0; j < count; j++) {
        slots[offset + j] = real[j];
        mask[b * width + offset + j] = 1;
      }
      return { cache: rows.cache, row, slots };
    });
    return { cache: runner.gather(width, sources), mask, width, counts };
  }
}

export function choosePaddingProtocol(
  attention: AttentionKind,
  padTokenId: number,
  sideOverride?: PaddingSide,
): PaddingProtocol {
  const layout = attention === 'gqa' ? compactedLayout : maskAlignedLayout;
  return new PaddingProtocol(sideOverride ?? 'right', layout, padTokenId);
}
