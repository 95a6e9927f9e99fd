import { BatchRows } from '../padding/batchRows';
import { PaddingProtocol } from '../padding/paddingProtocol';
import { StepResult, StepRunner } from '../runtime/stepRunner';
import { CachedPrefix } from './prefixCache';
import { EngineStats } from './engineStats';

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
    stats.prefillSteps++;
    stats.prefillPositions += chunk.length;
    stats.prefillRealTokens += chunk.length;
    stats.prefillBatchSizes[1] = (stats.prefillBatchSizes[1] ?? 0) + 1;
  }
  if (!last) throw new Error('extendOneRow: no tokens');
  return { rows, last };
}

/** The KV of `tokens` alone (one row, slots 0..n-1), prefilled in chunks of at most `maxBatchTokens`. */
export async function computePrefix(
  runner: StepRunner,
  protocol: PaddingProtocol,
  tokens: readonly number[],
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<BatchRows> {
  const first = tokens.slice(0, maxBatchTokens);
  const feeds = protocol.prefill([first]);
  const { present } = await runner.step(feeds);
  stats.prefillSteps++;
  stats.prefillPositions += first.length;
  stats.prefillRealTokens += first.length;
  stats.prefillBatchSizes[1] = (stats.prefillBatchSizes[1] ?? 0) + 1;
  const rows = protocol.afterPrefill(feeds, present, [first]);
  return tokens.length > first.length ? (await extendOneRow(runner, protocol, rows, tokens.slice(first.length), maxBatchTokens, stats)).rows : rows;
}

/**
 * A one-row batch holding a copy of the first `length` tokens of a cached prefix. The gather reads the cached cache as
 * retained, so the prefix stays intact for the next request.
 */
export function copyOfPrefix(runner: StepRunner, entry: CachedPrefix, length: number, retained: ReadonlySet<CachedPrefix['cache']>): BatchRows {
  const slots = Array.from({ length }, (_, j) => j);
  const cache = runner.gather(length, [{ cache: entry.cache, row: 0, slots }], retained);
  return { cache, mask: new Uint8Array(length).fill(1), width: length, counts: [length] };
}
