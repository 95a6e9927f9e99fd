import { RetryHandlers } from '../engine/retryFailedSteps';
import { FinishedSequence, SequenceSpec } from '../engine/sequence';
import { LoadedModel } from '../engine/loadModel';
import { finishedSample, sampleResult } from '../output/finishedSample';
import { SampleSlot } from './preparedRequest';
import { RecordWriter } from './recordWriter';
import { RunDiagnostics } from './runDiagnostics';
import { SampleGatherer } from './sampleGatherer';

export interface SequenceHandlerOptions {
  model: Pick<LoadedModel, 'tokenizer'>;
  records: RecordWriter;
  diagnostics: RunDiagnostics;
  gatherer: SampleGatherer;
  /** Requests handed to the engine (the progress total). */
  total: number;
  onProgress?: (done: number, total: number, generatedTokens: number) => void;
  log: (message: string) => void;
}

/** What the job does as the engine reports: a finished sample, a request that failed alone, a batch being retried. */
export class SequenceHandlers {
  private done = 0;
  private generatedTokens = 0;

  constructor(private readonly options: SequenceHandlerOptions) {}

  /** The callbacks in the engine's shape. */
  get engineHandlers(): Omit<RetryHandlers<SampleSlot>, 'restart'> {
    return {
      onFinished: (sequence) => this.finished(sequence),
      onFailed: (spec, failure) => this.failed(spec, failure),
      onRetry: (rows, failure) => this.retrying(rows, failure),
    };
  }

  finished(sequence: FinishedSequence<SampleSlot>): void {
    const { prepared, output, constraint } = sequence.spec.request;
    const { gatherer, diagnostics, model } = this.options;
    // A constrained output cut at max_tokens is valid only if its text is already a whole string of its grammar.
    const structuredIncomplete = constraint ? sequence.finishReason === 'length' && !constraint.complete() : undefined;
    constraint?.dispose();
    if (gatherer.hasFailed(prepared)) return; // another sample of it failed: its error record is written
    const sample = finishedSample(sequence, output);
    const result = sampleResult(sample, {
      splitReasoning: prepared.request.kind === 'messages',
      logprobs: prepared.settings.logprobs > 0,
      tokenizer: model.tokenizer,
    });
    this.generatedTokens += sample.tokenIds.length;
    diagnostics.addOutcome(
      { id: prepared.request.id, finishReason: sample.finishReason, stopTokenId: sample.stopTokenId, ignoreEos: prepared.settings.ignoreEos, structuredIncomplete },
      sample.tokenIds.length,
    );
    const completed = gatherer.add(prepared, sequence.spec.sampleIndex, result);
    if (!completed) return;
    diagnostics.addCompletedPrompt(prepared.promptIds.length);
    this.options.records.completed(completed);
    this.progressed();
  }

  failed(spec: SequenceSpec<SampleSlot>, failure: unknown): void {
    const { prepared } = spec.request;
    spec.request.constraint?.dispose();
    if (!this.options.gatherer.markFailed(prepared)) return;
    const { id, index, customId, line } = prepared.request;
    const message = `line ${line}: the model failed on this request, also when run alone: ${reasonOf(failure)}`;
    this.options.records.failure({ id, index, customId, code: 'runtime_error', message, line });
    this.progressed();
  }

  retrying(rows: number, failure: unknown): void {
    this.options.log(`warning: a model step failed for ${rows} row(s) (${reasonOf(failure)}); retrying them one at a time`);
  }

  private progressed(): void {
    this.done++;
    this.options.onProgress?.(this.done, this.options.total, this.generatedTokens);
  }
}

function reasonOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}
