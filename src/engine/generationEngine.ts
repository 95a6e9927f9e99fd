import { BatchRunner } from '../padding/batchRunner';
import { SchedulerLimits } from '../schedule/scheduler';
import { countDecodeStep, EngineStats, emptyEngineStats } from './engineStats';
import { KvManager, KvManagerOptions } from './kvManager';
import { prefixReuseIsExact } from './prefixReuseCheck';
import { FinishCheck, RunningBatch } from './runningBatch';
import { FinishedSequence, SequenceSpec, TokenChoice } from './sequence';
import { SampleRows, startRows } from './startRows';
import { stopAfter } from './stopping';

export interface EngineOptions extends SchedulerLimits, KvManagerOptions {
  /** Stop admitting and return as soon as this is aborted (in-flight sequences are abandoned, not written). */
  signal?: AbortSignal;
  /** Called for every generated token (progress: tok/s from the first token on). */
  onToken?: () => void;
  /**
   * Called once before the tokens of a step's rows are chosen, with those rows: work every row's constraint needs (a
   * grammar's allowed-token masks) can be done for the whole batch at once.
   */
  beforeSampling?: (specs: readonly SequenceSpec<unknown>[]) => void | Promise<void>;
  /** Called once a group the KV manager admitted has started, with its sequences and the counters so far. */
  onAdmitted?: (specs: readonly SequenceSpec<unknown>[], stats: Readonly<EngineStats>) => void;
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
 * The generation loop with continuous batching: schedule (the KV manager admits waiting sequences into free rows), execute
 * (the batch runner prefills them, merges them into the running cache, decodes one token for every live row), sample
 * (each row's own sampler), output (token-level stops here; finished rows go to `onFinished` at once and leave).
 */
export async function runGeneration<R>(
  batch: BatchRunner,
  specs: SequenceSpec<R>[],
  options: EngineOptions,
  onFinished: (sequence: FinishedSequence<R>) => void | Promise<void>,
): Promise<EngineResult<R>> {
  const stats = emptyEngineStats();
  batch.reserveRows(options.batchSize);
  const kv = await KvManager.open(specs, options, stats, (prompt, blockSize) => prefixReuseIsExact(batch, prompt, blockSize));
  const running = new RunningBatch<R>(batch);
  const sample = samplerOf<R>(options);
  const finished = finishCheck(options, onFinished);
  const failed = (admitting: SequenceSpec<R>[]) => (failure: unknown): never => {
    throw new EngineStepError(failure, [...admitting, ...running.specs], kv.drain(), stats);
  };

  while (kv.pending > 0 || running.size > 0) {
    if (options.signal?.aborted) break;
    // Schedule: the KV manager admits a group into free rows; execute: its rows start and join with one rebuild.
    const admitted = kv.admit(running.specs);
    if (admitted.length > 0) {
      let started = Date.now();
      const fresh = await startRows(batch, kv, admitted, options.maxBatchTokens, stats, sample).catch(failed(admitted.map((a) => a.spec)));
      stats.prefillMs += Date.now() - started;
      kv.started(admitted);
      options.onAdmitted?.(admitted.map((a) => a.spec), stats);
      started = Date.now();
      await running.merge(fresh, finished);
      stats.rebuilds++;
      stats.decodeMs += Date.now() - started;
      continue; // admit more if rows are still free (e.g. rows that finished at their first token)
    }
    // Execute one decode step for every live row (finished rows dropped first), sample each row, stop and output.
    const started = Date.now();
    if (running.compact()) stats.rebuilds++;
    if (running.size === 0) continue;
    const logits = await running.decode().catch(failed([]));
    countDecodeStep(stats, running.size);
    await running.advance(await sample(running.specs, logits), finished);
    stats.decodeMs += Date.now() - started;
  }

  kv.close();
  running.close();
  return { stats, unfinished: [...running.specs, ...kv.drain()] };
}

/** The sampling step: each row's own sampler, after the batch-wide hook; the row's constraint masks its logits. */
function samplerOf<R>(options: EngineOptions): SampleRows<R> {
  return async (specs, logitsOf) => {
    if (options.beforeSampling) await options.beforeSampling(specs);
    const choices = new Array<TokenChoice>(specs.length);
    for (let i = 0; i < specs.length; i++) choices[i] = specs[i].sampler.next(logitsOf(i), specs[i].constraint);
    return choices;
  };
}

/** Token-level stopping, once per generated token; a finished row is handed out at once. */
function finishCheck<R>(options: EngineOptions, onFinished: (sequence: FinishedSequence<R>) => void | Promise<void>): FinishCheck<R> {
  return async ({ spec, tokenIds, choices }) => {
    options.onToken?.();
    const verdict = stopAfter(spec, tokenIds);
    if (!verdict) return false;
    await onFinished({ spec, tokenIds, choices, finishReason: verdict.reason, stopTokenId: verdict.stopTokenId });
    return true;
  };
}
