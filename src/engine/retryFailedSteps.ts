import { BatchRunner } from '../padding/batchRunner';
import { EngineStats, emptyEngineStats } from './engineStats';
import { EngineOptions, EngineResult, EngineStepError, runGeneration } from './generationEngine';
import { FinishedSequence, SequenceSpec } from './sequence';

export interface RetryHandlers<R> {
  onFinished: (sequence: FinishedSequence<R>) => void | Promise<void>;
  /** A sequence whose step still failed when it ran alone: it gets no output and is not tried again. */
  onFailed: (spec: SequenceSpec<R>, failure: unknown) => void | Promise<void>;
  /** A batched step failed and its `rows` sequences are about to be retried one at a time. */
  onRetry?: (rows: number, failure: unknown) => void;
  /**
   * The same sequence as new, for a retry from its prompt: a fresh sampler (seeded random state, penalty history), stop
   * state and constraint. The failed attempt's have already seen its tokens; reused, a retried sampled row would draw
   * other numbers than an uninterrupted run, and its output would depend on a failure elsewhere in its batch.
   */
  restart: (spec: SequenceSpec<R>) => SequenceSpec<R>;
}

/**
 * Runs the engine so that a failing model step costs at most the sequences in flight, and those only if they fail again
 * on their own: the lost rows are retried alone (batch size 1, so one bad request cannot take others down with it), the
 * ones that still fail go to `onFailed`, and the never-started sequences continue batched as before.
 */
export async function runGenerationRetryingFailedSteps<R>(
  batch: BatchRunner,
  specs: SequenceSpec<R>[],
  options: EngineOptions,
  handlers: RetryHandlers<R>,
): Promise<EngineResult<R>> {
  const stats = emptyEngineStats();
  const unfinished: SequenceSpec<R>[] = [];
  let queue = specs;
  while (queue.length > 0) {
    try {
      const result = await runGeneration(batch, queue, options, handlers.onFinished);
      addStats(stats, result.stats);
      unfinished.push(...result.unfinished);
      break;
    } catch (error) {
      if (!(error instanceof EngineStepError)) throw error;
      const failed = error as EngineStepError<R>;
      addStats(stats, failed.stats);
      handlers.onRetry?.(failed.inFlight.length, failed.failure);
      for (const lost of failed.inFlight) {
        const spec = handlers.restart(lost);
        try {
          const solo = await runGeneration(batch, [spec], { ...options, batchSize: 1 }, handlers.onFinished);
          addStats(stats, solo.stats);
          unfinished.push(...solo.unfinished);
        } catch (soloError) {
          if (!(soloError instanceof EngineStepError)) throw soloError;
          addStats(stats, soloError.stats);
          await handlers.onFailed(spec, soloError.failure);
        }
      }
      queue = failed.pending;
    }
  }
  return { stats, unfinished };
}

function addStats(total: EngineStats, part: EngineStats): void {
  for (const key of Object.keys(total) as (keyof EngineStats)[]) {
    const value = part[key];
    if (typeof value === 'number') (total[key] as number) += value;
    else {
      const histogram = total[key] as Record<number, number>;
      for (const [size, count] of Object.entries(value)) histogram[Number(size)] = (histogram[Number(size)] ?? 0) + count;
    }
  }
}
