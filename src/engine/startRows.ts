import { BatchRows } from '../padding/batchRows';
import { BatchRunner, PrefixCopy } from '../padding/batchRunner';
import { KvCache } from '../runtime/kvCache';
import { countPrefillSteps, EngineStats } from './engineStats';
import { KvManager, Waiting } from './kvManager';
import { SequenceSpec, TokenChoice } from './sequence';

/** Newly started rows: `rows` of a fresh batch, spec i at row rowOf[i] (samples of one prompt share a row), its first token chosen. */
export interface Started<R> {
  specs: SequenceSpec<R>[];
  rows: BatchRows;
  rowOf: number[];
  firstChoices: TokenChoice[];
}

/** Chooses the first token of each spec from its row's logits (the engine's one sampling step). */
export type SampleRows<R> = (specs: readonly SequenceSpec<R>[], logitsOf: (i: number) => Float32Array) => Promise<TokenChoice[]>;

/** A distinct prompt that starts from the first `length` tokens of a cached prefix and prefills only the rest. */
interface PrefixedStart<R> {
  prompt: readonly number[];
  specs: SequenceSpec<R>[];
  from: KvCache;
  length: number;
}

interface StartContext<R> {
  batch: BatchRunner;
  kv: KvManager<R>;
  maxBatchTokens: number;
  stats: EngineStats;
  sample: SampleRows<R>;
}

/**
 * Starts an admitted group (the execute half of admission; the KV manager decides). Prompts without a shared prefix are
 * prefilled together. Each distinct prompt with one starts from a copy of its cached KV — computed now on a miss when
 * the KV manager finds room (from a copy of the cached prefix sharing the most with it, if any) — and prefills only the
 * rest, several prompts per step where the graph allows it; a prefix that does not fit is not cached and its prompt is
 * prefilled alone. Each unit's first tokens are chosen right after its step (logits live until the next step).
 */
export async function startRows<R>(
  batch: BatchRunner,
  kv: KvManager<R>,
  admitted: readonly Waiting<R>[],
  maxBatchTokens: number,
  stats: EngineStats,
  sample: SampleRows<R>,
): Promise<Started<R>[]> {
  const context: StartContext<R> = { batch, kv, maxBatchTokens, stats, sample };
  const units: Started<R>[] = [];
  const plain = admitted.filter((a) => !a.prefix).map((a) => a.spec);
  if (plain.length > 0) units.push(await prefillGroup(context, plain));
  // Samples of one request share their prompt array: one start serves them all.
  const byPrompt = new Map<readonly number[], Waiting<R>[]>();
  for (const a of admitted) if (a.prefix) byPrompt.set(a.spec.promptIds, [...(byPrompt.get(a.spec.promptIds) ?? []), a]);
  const starts: PrefixedStart<R>[] = [];
  for (const [prompt, samples] of byPrompt) {
    const specs = samples.map((a) => a.spec);
    const prefix = samples[0].prefix!;
    const start = kv.prefixStart(prefix);
    if (start.kind === 'hit') {
      starts.push({ prompt, specs, from: start.entry.cache, length: prefix.length });
      continue;
    }
    const { base } = start;
    if (start.kind === 'uncached') {
      // Not cached: the prompt is prefilled alone, from the shared part when there is one.
      if (base) starts.push({ prompt, specs, from: base.entry.cache, length: base.tokens });
      else units.push(await prefillGroup(context, specs));
      continue;
    }
    // An evicted base is no longer retained (unless this admission starts from it): its copy may take over its memory.
    const computed = base
      ? await extendCounted(context, batch.copyPrefixes([{ cache: base.entry.cache, length: base.tokens }], retainedNow(kv, starts)), [prompt.slice(base.tokens, prefix.length)])
      : await prefillCounted(context, [prompt.slice(0, prefix.length)], 1);
    starts.push({ prompt, specs, from: kv.store(prefix, computed.rows.cache).cache, length: prefix.length });
  }
  const rowsPerStep = batch.multiRowExtend ? Infinity : 1;
  for (const group of extendGroups(starts, maxBatchTokens, rowsPerStep)) units.push(await startFromPrefixes(context, group, retainedNow(kv, starts)));
  return units;
}

function retainedNow<R>(kv: KvManager<R>, starts: readonly PrefixedStart<R>[]): ReadonlySet<KvCache> {
  return kv.retained(starts.map((s) => s.from));
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

/** Rows started from copies of their prefixes: the rests are prefilled (together when they fit one step), first tokens chosen. */
async function startFromPrefixes<R>(context: StartContext<R>, group: PrefixedStart<R>[], retained: ReadonlySet<KvCache>): Promise<Started<R>> {
  const copies: PrefixCopy[] = group.map((s) => ({ cache: s.from, length: s.length }));
  const stepped = await extendCounted(context, context.batch.copyPrefixes(copies, retained), group.map((s) => s.prompt.slice(s.length)));
  const specs = group.flatMap((s) => s.specs);
  const rowOf = group.flatMap((s, row) => s.specs.map(() => row));
  const firstChoices = await context.sample(specs, (i) => stepped.logits(rowOf[i]));
  return { specs, rows: stepped.rows, rowOf, firstChoices };
}

/**
 * Prefills a group of sequences and chooses each one's first token. Samples of one request share their prompt array: each
 * distinct prompt is prefilled once and its samples share its row (the merge copies it once per sample), so `n` samples
 * cost one prefill. A group whose padded size exceeds the token budget is a single long prompt (the scheduler guarantees
 * it): it is prefilled alone, in chunks.
 */
async function prefillGroup<R>(context: StartContext<R>, specs: SequenceSpec<R>[]): Promise<Started<R>> {
  const distinct: number[][] = [];
  const rowOf = specs.map((spec) => {
    let row = distinct.indexOf(spec.promptIds);
    if (row < 0) row = distinct.push(spec.promptIds) - 1;
    return row;
  });
  const stepped = await prefillCounted(context, distinct, specs.length);
  const firstChoices = await context.sample(specs, (i) => stepped.logits(rowOf[i]));
  return { specs, rows: stepped.rows, rowOf, firstChoices };
}

/** A prefill, counted as steps of `rows` rows (the sequences it starts: samples of one prompt count each). */
async function prefillCounted<R>(context: StartContext<R>, prompts: readonly (readonly number[])[], rows: number) {
  const stepped = await context.batch.prefill(prompts, context.maxBatchTokens);
  countPrefillSteps(context.stats, stepped.work.length === 1 ? [{ ...stepped.work[0], rows }] : stepped.work);
  return stepped;
}

async function extendCounted<R>(context: StartContext<R>, rows: BatchRows, tokens: readonly (readonly number[])[]) {
  const stepped = await context.batch.extend(rows, tokens, context.maxBatchTokens);
  countPrefillSteps(context.stats, stepped.work);
  return stepped;
}

