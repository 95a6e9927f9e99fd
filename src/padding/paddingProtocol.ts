import { AttentionKind } from '../attentionKind';
import { KvCache } from '../runtime/kvCache';
import { StepFeeds } from '../runtime/stepFeeds';
import { StepRunner } from '../runtime/stepRunner';
import { appendMaskColumns, BatchRows, compactMask } from './batchRows';
import { CacheLayout, compactedLayout, maskAlignedLayout } from './cacheLayout';
import { PaddingSide } from './paddingSide';

export type { PaddingSide } from './paddingSide';

/**
 * The padding protocol: the one place that decides, for a whole run, how prompts are padded, what mask and position ids
 * each step gets, where each row's next-token logits are read, how the cache grows, and how rows are removed or added.
 * The batch runner (batchRunner.ts) applies it to a runtime; nothing else looks at the graph kind.
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
 *
 * The mask is int64 from the start (what the graph reads) and is kept from step to step: an extend appends its columns in
 * the same memory while it has room, so a decode step neither makes a new mask nor converts one.
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
  prefill(prompts: readonly (readonly number[])[]): StepFeeds {
    const batch = prompts.length;
    const seqLen = Math.max(...prompts.map((p) => p.length));
    if (seqLen === 0) throw new Error('cannot prefill empty prompts');
    const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(this.padTokenId));
    const positionIds = new BigInt64Array(batch * seqLen);
    const logitColumns: number[] = [];
    prompts.forEach((prompt, b) => {
      const offset = this.side === 'right' ? 0 : seqLen - prompt.length;
      for (let i = 0; i < prompt.length; i++) inputIds[b * seqLen + offset + i] = BigInt(prompt[i]);
      for (let j = 0; j < seqLen; j++) {
        positionIds[b * seqLen + j] = BigInt(this.side === 'right' ? j : Math.max(j - offset, 0));
      }
      logitColumns.push(offset + prompt.length - 1);
    });
    const attentionMask = compactMask(prompts.map((p) => p.length), seqLen, this.side);
    return { batch, seqLen, inputIds, positionIds, logitColumns, attentionMask, maskWidth: seqLen, past: null };
  }

  /** The batch state after a prefill step, from its feeds and the graph's `present` cache. */
  afterPrefill(feeds: StepFeeds, present: KvCache, prompts: readonly (readonly number[])[]): BatchRows {
    return { cache: present, mask: feeds.attentionMask, width: feeds.maskWidth, counts: prompts.map((p) => p.length) };
  }

  /**
   * Feeds that append `tokens[b]` to each row: one decode step, a prefill chunk, or the rest of several prompts after their
   * cached prefixes. A row adding fewer tokens than the longest is padded at the end with pads that this step computes as
   * real tokens (mask 1): every graph kind then reads each row's right past length (GroupQueryAttention derives it as
   * seqlens_k + 1 − S), and the row's real tokens never see the pads, which come after them. `afterExtend` drops the pads.
   * The rows are consumed: their mask becomes the step's (grown in place).
   */
  extend(rows: BatchRows, tokens: readonly (readonly number[])[]): StepFeeds {
    const batch = tokens.length;
    let seqLen = 0;
    for (const t of tokens) {
      if (t.length === 0) throw new Error('extend: every row must add at least one token');
      if (t.length > seqLen) seqLen = t.length;
    }
    const inputIds = new BigInt64Array(batch * seqLen);
    const positionIds = new BigInt64Array(batch * seqLen);
    const logitColumns = new Array<number>(batch);
    const pad = BigInt(this.padTokenId);
    for (let b = 0; b < batch; b++) {
      const row = tokens[b];
      const count = rows.counts[b];
      for (let i = 0; i < seqLen; i++) {
        inputIds[b * seqLen + i] = i < row.length ? BigInt(row[i]) : pad;
        positionIds[b * seqLen + i] = BigInt(count + i);
      }
      logitColumns[b] = row.length - 1;
    }
    return {
      batch, seqLen, inputIds, positionIds, logitColumns,
      attentionMask: appendMaskColumns(rows.mask, batch, rows.width, seqLen), maskWidth: rows.width + seqLen,
      past: rows.cache,
    };
  }

  /**
   * The batch after an extend step: each row gained its real tokens (through its logit column); the trailing pads of a
   * shorter row become holes (mask 0), which the next rebuild removes.
   */
  afterExtend(rows: BatchRows, feeds: StepFeeds, present: KvCache): BatchRows {
    const mask = feeds.attentionMask;
    const counts = new Array<number>(rows.counts.length);
    for (let b = 0; b < counts.length; b++) {
      const added = feeds.logitColumns[b] + 1;
      if (added !== feeds.seqLen) mask.fill(0n, b * feeds.maskWidth + rows.width + added, (b + 1) * feeds.maskWidth);
      counts[b] = rows.counts[b] + added;
    }
    return { cache: present, mask, width: feeds.maskWidth, counts };
  }

  /** Rows holding `counts[b]` real tokens each at slots 0..count-1 of `cache` (a gather's result), laid out by this protocol. */
  rowsOf(cache: KvCache, counts: number[], width: number): BatchRows {
    return { cache, mask: compactMask(counts, width, this.side), width, counts };
  }

  /**
   * The slots of a compacted copy of the listed rows (row removal, admission of newly prefilled rows, prefix copies):
   * each row's real tokens at the protocol's side, no holes, `width` = the longest row.
   */
  compactedSources(picked: readonly { rows: BatchRows; row: number }[]): { width: number; counts: number[]; sources: { cache: KvCache; row: number; slots: number[] }[] } {
    const counts = picked.map(({ rows, row }) => rows.counts[row]);
    const width = Math.max(...counts);
    const sources = picked.map(({ rows, row }) => {
      const count = rows.counts[row];
      const maskRow = rows.mask.subarray(row * rows.width, (row + 1) * rows.width);
      const real = this.layout.realSlots(maskRow, count);
      if (real.length !== count) throw new Error(`cache layout found ${real.length} real slots for a row of ${count} tokens`);
      const offset = this.side === 'right' ? 0 : width - count;
      const slots = new Array<number>(width).fill(-1);
      for (let j = 0; j < count; j++) slots[offset + j] = real[j];
      return { cache: rows.cache, row, slots };
    });
    return { width, counts, sources };
  }

  /**
   * A new batch made of the listed rows of one or more batches (row removal, admission of newly prefilled rows, or both),
   * compacted: each row's real tokens at the protocol's side, no holes. The runner does the copy, into memory it owns
   * (possibly the memory of a source batch, which is consumed). A row may be listed more than once (samples of one prompt).
   */
  rebuild(parts: { rows: BatchRows; keep: number[] }[], runner: Pick<StepRunner, 'gather' | 'recycle'>): BatchRows | null {
    // A batch none of whose rows stay (a finished wave) gives its memory back first, so the new batch can be copied into it.
    for (const { rows, keep } of parts) if (keep.length === 0) runner.recycle?.(rows.cache);
    const picked = parts.flatMap(({ rows, keep }) => keep.map((row) => ({ rows, row })));
    if (picked.length === 0) return null;
    const { width, counts, sources } = this.compactedSources(picked);
    return this.rowsOf(runner.gather(width, sources), counts, width);
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
