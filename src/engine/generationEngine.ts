import { StepRunner } from '../runtime/stepRunner';
import { BatchRows } from '../padding/batchRows';
import { PaddingProtocol } from '../padding/paddingProtocol';
import { Scheduler, SchedulerLimits } from '../schedule/scheduler';
import { DEFAULT_PREFIX_BLOCK, groupOf, PrefixIndex } from '../schedule/prefixIndex';
import { EngineStats, emptyEngineStats } from './engineStats';
import { PrefixCache } from './prefixCache';
import { prefixReuseIsExact } from './prefixReuseCheck';
import { Schedulable, startAdmitted } from './admission';
import { FinishedSequence, SequenceSpec, TokenChoice } from './sequence';

export interface EngineOptions extends SchedulerLimits {
  /** Stop admitting and return as soon as this is aborted (in-flight sequences are abandoned, not written). */
  signal?: AbortSignal;
  /**
   * Automatic prefix caching (default on): a prompt that shares whole token blocks at its start with another prompt of
   * the run starts from a copy of that prefix's KV, computed once and kept in an LRU cache within `maxCacheTokens`.
   */
  prefixCache?: boolean;
  /** Tokens per block of the prefix match (default 16). */
  prefixBlockSize?: number;
}

/** Live state of one running row. */
interface Running<R> {
  spec: SequenceSpec<R>;
  tokenIds: number[];
  choices: TokenChoice[];
}

/**
 * A model step failed. The rows in flight are lost — their cache went with the step — but nothing else is: finished
 * sequences were already handed out, and `pending` were never started.
 */
export class EngineStepError<R> extends Error {
  constructor(
    readonly failure: unknown,
    readonly inFlight: SequenceSpec<R>[],
    readonly pending: SequenceSpec<R>[],
    readonly stats: EngineStats,
  ) {
    super(`model step failed: ${failure instanceof Error ? failure.message : String(failure)}`);
    this.name = 'EngineStepError';
  }
}

export interface EngineResult<R> {
  stats: EngineStats;
  /** Sequences never finished because the run was aborted. */
  unfinished: SequenceSpec<R>[];
}

/**
 * The generation loop with continuous batching: admit waiting sequences into free rows (prefill, then merge into the
 * running cache), decode one token for every live row, hand finished rows to `onFinished` at once and drop them.
 * All layout decisions are the padding protocol's; all tensor work is the runner's.
 */
export async function runGeneration<R>(
  runner: StepRunner,
  protocol: PaddingProtocol,
  specs: SequenceSpec<R>[],
  options: EngineOptions,
  onFinished: (sequence: FinishedSequence<R>) => void | Promise<void>,
): Promise<EngineResult<R>> {
  const stats = emptyEngineStats();
  runner.reserveRows?.(options.batchSize);
  const blockSize = options.prefixBlockSize ?? DEFAULT_PREFIX_BLOCK;
  let index = options.prefixCache === false ? null : new PrefixIndex(specs.map((spec) => spec.promptIds), blockSize);
  const sharing = index && specs.find((spec) => index!.sharedPrefix(spec.promptIds));
  if (sharing && !(await prefixReuseIsExact(runner, protocol, sharing.promptIds, blockSize).catch(() => false))) {
    // Reuse would change outputs in the last bits on this graph: the promise that a prompt's output does not depend on
    // the other prompts of the run comes first, so prefixes are not cached (the report says so).
    index = null;
    stats.prefixReuseInexact = 1;
  }
  // For the shared_prefix finding: how many prompts one computed prefix served, the most for each prefix length.
  const prefixes = new PrefixCache((entry) => {
    if (entry.uses > (stats.prefixUses[entry.length] ?? 0)) stats.prefixUses[entry.length] = entry.uses;
  });
  const scheduler = new Scheduler<Schedulable<R>>(
    specs.map((spec) => {
      const prefix = index?.sharedPrefix(spec.promptIds) ?? null;
      const promptLength = spec.promptIds.length;
      return {
        spec, promptLength, maxLength: promptLength + spec.maxTokens, prefix,
        prefillLength: promptLength - (prefix?.length ?? 0), group: prefix?.group,
      };
    }),
    options,
  );
  const cacheBudget = options.maxCacheTokens ?? Infinity;
  // Waiting requests per prefix group: a cached prefix whose group has none left is dropped at once.
  const waitingInGroup = new Map<unknown, number>();
  for (const spec of specs) {
    const group = index?.sharedPrefix(spec.promptIds)?.group;
    if (group) waitingInGroup.set(group, (waitingInGroup.get(group) ?? 0) + 1);
  }
  let batch: BatchRows | null = null;
  let running: Running<R>[] = [];
  // Rows of `batch` still alive after the last decode step, when some finished: they are dropped in the next rebuild,
  // together with any admission, so each step copies the cache at most once.
  let survivors: number[] | null = null;

  const stepFailed = (admitting: SequenceSpec<R>[]) => (failure: unknown): never => {
    const live = survivors ? survivors.map((b) => running[b]) : running;
    throw new EngineStepError(failure, [...admitting, ...live.map((r) => r.spec)], scheduler.drain().map((s) => s.spec), stats);
  };

  const finishIfDone = async (row: Running<R>): Promise<boolean> => {
    const verdict = row.spec.stop.check(row.tokenIds);
    if (!verdict) return false;
    await onFinished({ spec: row.spec, tokenIds: row.tokenIds, choices: row.choices, finishReason: verdict.reason, stopTokenId: verdict.stopTokenId });
    return true;
  };

  while (scheduler.pending > 0 || running.length > 0) {
    if (options.signal?.aborted) break;

    // Admission: prefill a group into the free rows; one rebuild then drops finished rows and merges the new ones.
    const live = survivors ? survivors.map((b) => running[b]) : running;
    const liveTokens = live.reduce((sum, row) => sum + row.spec.promptIds.length + row.spec.maxTokens, 0);
    // Cached prefixes never hold back admission: they count against the cache budget, but the rows come first (below).
    const admitted = scheduler.admit(live.length, liveTokens);
    const parts: { rows: BatchRows; keep: number[] }[] = [];
    if (batch) parts.push({ rows: batch, keep: survivors ?? running.map((_, b) => b) });
    const next = [...live];
    if (admitted.length > 0) {
      const started = Date.now();
      const rowsTokens = liveTokens + admitted.reduce((sum, a) => sum + a.maxLength, 0);
      // Prefixes that no longer fit beside the rows are evicted, least recently used first (the first row of an empty batch
      // is admitted whatever its size, as without the cache).
      prefixes.makeRoom(0, Math.max(0, cacheBudget - rowsTokens));
      const fresh = await startAdmitted(runner, protocol, admitted, prefixes, cacheBudget - rowsTokens, options.maxBatchTokens, stats).catch(
        stepFailed(admitted.map((a) => a.spec)),
      );
      stats.prefillMs += Date.now() - started;
      for (const a of admitted) if (a.group) waitingInGroup.set(a.group, waitingInGroup.get(a.group)! - 1);
      prefixes.dropUnused((entry) => (waitingInGroup.get(groupOf(entry.node)) ?? 0) > 0);
      for (const unit of fresh) {
        const keep: number[] = [];
        for (let i = 0; i < unit.specs.length; i++) {
          const row: Running<R> = { spec: unit.specs[i], tokenIds: [unit.firstChoices[i].tokenId], choices: [unit.firstChoices[i]] };
          if (!(await finishIfDone(row))) {
            keep.push(unit.rowOf[i]);
            next.push(row);
          }
        }
        parts.push({ rows: unit.rows, keep });
      }
    }
    if (admitted.length > 0 || survivors) {
      const started = Date.now();
      batch = protocol.rebuild(parts, runner);
      running = next;
      survivors = null;
      stats.rebuilds++;
      stats.decodeMs += Date.now() - started;
      if (admitted.length > 0) continue; // admit more if rows are still free (e.g. rows that finished at their first token)
    }
    if (!batch || running.length === 0) continue;

    // One decode step for every live row.
    const started = Date.now();
    const feeds = protocol.extend(batch, running.map((r) => [r.tokenIds[r.tokenIds.length - 1]]));
    const { logits, present } = await runner.step(feeds).catch(stepFailed([]));
    batch = protocol.afterExtend(batch, feeds, present);
    stats.decodeSteps++;
    stats.decodePositions += running.length;
    stats.decodeRealTokens += running.length;
    stats.decodeBatchSizes[running.length] = (stats.decodeBatchSizes[running.length] ?? 0) + 1;
    const keep: number[] = [];
    for (let b = 0; b < running.length; b++) {
      const row = running[b];
      const choice = row.spec.sampler.next(logits.row(b, feeds.logitColumns[b]));
      row.tokenIds.push(choice.tokenId);
      row.choices.push(choice);
      if (!(await finishIfDone(row))) keep.push(b);
    }
    stats.decodeMs += Date.now() - started;
    if (keep.length < running.length) survivors = keep;
  }

  stats.prefixEvictions += prefixes.evictions;
  prefixes.clear();
  const live = survivors ? survivors.map((b) => running[b]) : running;
  // The last batch's memory (its rows finished or are abandoned) serves the runner's next run.
  if (batch) runner.recycle?.(batch.cache);
  const unfinished = [...live.map((r) => r.spec), ...scheduler.drain().map((s) => s.spec)];
  return { stats, unfinished };
}
