import { BatchRows } from '../padding/batchRows';
import { PaddingProtocol } from '../padding/paddingProtocol';
import { KvCache } from '../runtime/kvCache';
import { StepRunner } from '../runtime/stepRunner';
import { SharedPrefix } from '../schedule/prefixIndex';
import { countPrefillStep, EngineStats } from './engineStats';
import { PrefixCache } from './prefixCache';
import { computePrefix, copiesOfPrefixes, copyOfPrefix, extendOneRow, prefillOneRow } from './prefixStart';
import { SequenceSpec, TokenChoice } from './sequence';

/** A request the scheduler can admit, with its shared prefix (if any). */
export interface Schedulable<R> {
  spec: SequenceSpec<R>;
  promptLength: number;
  maxLength: number;
  prefillLength: number;
  group?: unknown;
  prefix: SharedPrefix | null;
}

/** Newly started rows: `rows` of a fresh batch, spec i at row rowOf[i], with its first sampled token. */
export interface Started<R> {
  specs: SequenceSpec<R>[];
  rows: BatchRows;
  rowOf: number[];
  firstChoices: TokenChoice[];
}

/** A distinct prompt that starts from the first `length` tokens of a cached prefix and prefills only the rest. */
interface PrefixedStart<R> {
  prompt: readonly number[];
  specs: SequenceSpec<R>[];
  from: KvCache;
  length: number;
}

/**
 * Starts the admitted sequences. Those with a shared prefix start from a copy of its cached KV (computed now on a miss,
 * when it fits in `prefixBudget` tokens beside the rows; a miss computes only what no cached prefix already holds) and
 * prefill only the rest of their prompt, several prompts per step where the graph allows it; a prefix that does not fit
 * is not cached and its prompt is prefilled alone. The others are prefilled together as before.
 */
export async function startAdmitted<R>(
  runner: StepRunner,
  protocol: PaddingProtocol,
  admitted: Schedulable<R>[],
  prefixes: PrefixCache,
  prefixBudget: number,
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<Started<R>[]> {
  const units: Started<R>[] = [];
  const plain = admitted.filter((a) => !a.prefix).map((a) => a.spec);
  if (plain.length > 0) units.push(await prefillGroup(runner, protocol, plain, maxBatchTokens, stats));
  // Samples of one request share their prompt array: one start serves them all.
  const byPrompt = new Map<readonly number[], Schedulable<R>[]>();
  for (const a of admitted) if (a.prefix) byPrompt.set(a.spec.promptIds, [...(byPrompt.get(a.spec.promptIds) ?? []), a]);
  const starts: PrefixedStart<R>[] = [];
  for (const [prompt, samples] of byPrompt) {
    const specs = samples.map((a) => a.spec);
    const { node, length } = samples[0].prefix!;
    let entry = prefixes.lookup(node, length);
    if (entry) {
      stats.prefixHits++;
      stats.prefixTokensReused += length;
    } else {
      // A miss may still share its first tokens with a cached prefix (a common system prompt before different documents).
      const base = prefixes.longestShared(node, length);
      if (base) stats.prefixTokensReused += base.tokens;
      if (!prefixes.makeRoom(length, prefixBudget)) {
        // Not cached: the prompt is prefilled alone, from the shared part when there is one.
        if (base) starts.push({ prompt, specs, from: base.entry.cache, length: base.tokens });
        else units.push(await prefillGroup(runner, protocol, specs, maxBatchTokens, stats));
        continue;
      }
      // An evicted base is no longer retained (unless this admission starts from it): its copy may take over its memory.
      const computed = base
        ? (await extendOneRow(runner, protocol, copyOfPrefix(runner, base.entry.cache, base.tokens, retainedNow(prefixes, starts)),
          prompt.slice(base.tokens, length), maxBatchTokens, stats)).rows
        : await computePrefix(runner, protocol, prompt.slice(0, length), maxBatchTokens, stats);
      entry = { node, length, cache: computed.cache, uses: 0 };
      prefixes.add(entry);
      stats.prefixComputations++;
    }
    entry.uses++;
    starts.push({ prompt, specs, from: entry.cache, length });
  }
  const rowsPerStep = protocol.layout.multiRowExtend ? Infinity : 1;
  for (const group of extendGroups(starts, maxBatchTokens, rowsPerStep)) {
    units.push(await startFromPrefixes(runner, protocol, group, retainedNow(prefixes, starts), maxBatchTokens, stats));
  }
  return units;
}

/**
 * Caches a gather must leave intact: the prefix cache's, and the prefixes this admission still starts from (one evicted to
 * make room for another is read before its memory is let go).
 */
function retainedNow<R>(prefixes: PrefixCache, starts: PrefixedStart<R>[]): ReadonlySet<KvCache> {
  return new Set([...prefixes.retained, ...starts.map((s) => s.from)]);
}

/**
 * Starts that are extended in one step: longest rest first, as many as `maxBatchTokens` allows (rows × longest rest) and
 * at most `maxRows` (1 where the graph cannot extend several rows at once). A rest longer than that goes alone, in chunks.
 */
function extendGroups<R>(starts: PrefixedStart<R>[], maxBatchTokens: number, maxRows: number): PrefixedStart<R>[][] {
  const rest = (s: PrefixedStart<R>) => s.prompt.length - s.length;
  const sorted = [...starts].sort((a, b) => rest(b) - rest(a));
  const groups: PrefixedStart<R>[][] = [];
  for (const start of sorted) {
    const group = groups[groups.length - 1];
    if (group && group.length < maxRows && rest(group[0]) * (group.length + 1) <= maxBatchTokens) group.push(start);
    else groups.push([start]);
  }
  return groups;
}

/** Rows started from copies of their prefixes: the rests are prefilled (together when they fit one step), first tokens sampled. */
async function startFromPrefixes<R>(
  runner: StepRunner,
  protocol: PaddingProtocol,
  group: PrefixedStart<R>[],
  retained: ReadonlySet<KvCache>,
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<Started<R>> {
  const copies = copiesOfPrefixes(runner, group.map((s) => ({ cache: s.from, length: s.length })), retained);
  const rests = group.map((s) => s.prompt.slice(s.length));
  let rows: BatchRows;
  let logitsOf: (row: number) => Float32Array;
  if (group.length === 1) {
    const extended = await extendOneRow(runner, protocol, copies, rests[0], maxBatchTokens, stats);
    rows = extended.rows;
    logitsOf = () => extended.last.logits.row(0, extended.last.column);
  } else {
    const feeds = protocol.extend(copies, rests);
    const result = await runner.step(feeds);
    rows = protocol.afterExtend(copies, feeds, result.present);
    logitsOf = (row) => result.logits.row(row, feeds.logitColumns[row]);
    countPrefillStep(stats, group.length, feeds.batch * feeds.seqLen, rests.reduce((sum, r) => sum + r.length, 0));
  }
  const specs = group.flatMap((s) => s.specs);
  const rowOf = group.flatMap((s, row) => s.specs.map(() => row));
  const firstChoices = specs.map((spec, i) => spec.sampler.next(logitsOf(rowOf[i])));
  return { specs, rows, rowOf, firstChoices };
}

/**
 * Prefills a group of sequences and samples each one's first token. A group whose padded size exceeds the token budget is
 * a single long prompt (the scheduler guarantees it): it is prefilled alone, in chunks.
 */
async function prefillGroup<R>(
  runner: StepRunner,
  protocol: PaddingProtocol,
  specs: SequenceSpec<R>[],
  maxBatchTokens: number,
  stats: EngineStats,
): Promise<Started<R>> {
  const prompts = specs.map((s) => s.promptIds);
  const rowOf = specs.map((_, i) => i);
  if (specs.length === 1 && prompts[0].length > maxBatchTokens) {
    const { rows, last } = await prefillOneRow(runner, protocol, prompts[0], maxBatchTokens, stats);
    return { specs, rows, rowOf, firstChoices: [specs[0].sampler.next(last.logits.row(0, last.column))] };
  }

  // Samples of one request share their prompt array: prefill each distinct prompt once and give every sample a copy of
  // its cache rows (the rebuild duplicates them), so `n` samples cost one prefill.
  const distinct: number[][] = [];
  const distinctRow = prompts.map((prompt) => {
    let row = distinct.indexOf(prompt);
    if (row < 0) row = distinct.push(prompt) - 1;
    return row;
  });
  const feeds = protocol.prefill(distinct);
  const { logits, present } = await runner.step(feeds);
  countPrefillStep(stats, specs.length, feeds.batch * feeds.seqLen, distinct.reduce((sum, p) => sum + p.length, 0));
  const prefilled = protocol.afterPrefill(feeds, present, distinct);
  const firstChoices = specs.map((spec, i) => spec.sampler.next(logits.row(distinctRow[i], feeds.logitColumns[distinctRow[i]])));
  const rows = distinct.length === prompts.length ? prefilled : protocol.rebuild([{ rows: prefilled, keep: distinctRow }], runner)!;
  return { specs, rows, rowOf, firstChoices };
}
