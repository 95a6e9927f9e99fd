import { BatchRows } from '../padding/batchRows';
import { PaddingProtocol } from '../padding/paddingProtocol';
import { KvCache } from '../runtime/kvCache';
import { StepResult, StepRunner } from '../runtime/stepRunner';
import { countPrefillStep, EngineStats } from './engineStats';

/**
 * Appends `tokens` to a one-row batch in chunks of at most `maxBatchTokens`. One row, so this is correct on both graph
 * kinds: GroupQueryAttention derives a row's past length as seqlens_k + 1 − S, which holds for every row only when all
 * rows add the same number of real tokens — one row always does.
 */
export async function extendOneRow(
  runner: StepRunner,
  protocol: PaddingProtocol,
  rows: BatchRows,
  tokens: readonly number[],
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<{ rows: BatchRows; last: StepResult & { column: number } }> {
  let last: (StepResult & { column: number }) | null = null;
  for (let start = 0; start < tokens.length; start += maxBatchTokens) {
    const chunk = tokens.slice(start, start + maxBatchTokens);
    const feeds = protocol.extend(rows, [chunk]);
    const result = await runner.step(feeds);
    rows = protocol.afterExtend(rows, feeds, result.present);
    last = { ...result, column: feeds.logitColumns[0] };
    countPrefillStep(stats, 1, chunk.length, chunk.length);
  }
  if (!last) throw new Error('extendOneRow: no tokens');
  return { rows, last };
}

/**
 * One prompt prefilled alone from an empty cache, in chunks of at most `maxBatchTokens` (so the logits and activations of
 * a step stay bounded whatever its length): its one-row batch and the last step's logits.
 */
export async function prefillOneRow(
  runner: StepRunner,
  protocol: PaddingProtocol,
  tokens: readonly number[],
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<{ rows: BatchRows; last: StepResult & { column: number } }> {
  const first = tokens.slice(0, maxBatchTokens);
  const feeds = protocol.prefill([first]);
  const result = await runner.step(feeds);
  countPrefillStep(stats, 1, first.length, first.length);
  const rows = protocol.afterPrefill(feeds, result.present, [first]);
  if (tokens.length === first.length) return { rows, last: { ...result, column: feeds.logitColumns[0] } };
  return extendOneRow(runner, protocol, rows, tokens.slice(first.length), maxBatchTokens, stats);
}

/** The KV of `tokens` alone (one row, slots 0..n-1), to be cached as a prefix. */
export async function computePrefix(
  runner: StepRunner,
  protocol: PaddingProtocol,
  tokens: readonly number[],
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<BatchRows> {
  return (await prefillOneRow(runner, protocol, tokens, maxBatchTokens, stats)).rows;
}

/** A one-row batch holding a copy of the first `length` tokens of a cached prefix (read as retained: it stays intact). */
export function copyOfPrefix(runner: StepRunner, from: KvCache, length: number, retained: ReadonlySet<KvCache>): BatchRows {
  return copiesOfPrefixes(runner, [{ cache: from, length }], retained);
}

/**
 * A batch whose row b holds a copy of the first `length` tokens of cached prefix b, at slots 0..length-1 (shorter rows
 * padded on the right). Caches in `retained` stay intact for later requests.
 */
export function copiesOfPrefixes(runner: StepRunner, prefixes: { cache: KvCache; length: number }[], retained: ReadonlySet<KvCache>): BatchRows {
  const width = Math.max(...prefixes.map((p) => p.length));
  const mask = new Uint8Array(prefixes.length * width);
  const sources = prefixes.map(({ cache, length }, b) => {
    mask.fill(1, b * width, b * width + length);
    return { cache, row: 0, slots: Array.from({ length: width }, (_, j) => (j < length ? j : -1)) };
  });
  return { cache: runner.gather(width, sources, retained), mask, width, counts: prefixes.map((p) => p.length) };
}
