import { FinishReason, StopPolicy } from '../engine/sequence';
import { IncrementalDetokenizer, TokenDecoder } from './incrementalDetokenizer';
import { StopStringMatcher } from './stopStrings';

export interface SequenceOutputSettings {
  maxTokens: number;
  minTokens: number;
  /** Token ids that end the sequence (eos ids unless ignore_eos, plus stop_token_ids); never part of the text. */
  stopTokenIds: ReadonlySet<number>;
  stopStrings: readonly string[];
  includeStopStrInOutput: boolean;
}

/**
 * The output processor of one sequence: detokenizes as tokens arrive, watches for stop tokens, stop strings (also
 * across token boundaries) and max_tokens, and keeps the final text cut exactly where generation stopped.
 */
export class SequenceOutput implements StopPolicy {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly matcher: StopStringMatcher;
  private finished = false;
  stopString: string | null = null;
  stopTokenId: number | undefined;

  constructor(tokenizer: TokenDecoder, private readonly settings: SequenceOutputSettings) {
    this.detokenizer = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens: true });
    this.matcher = new StopStringMatcher(settings.stopStrings, { includeStopStrInOutput: settings.includeStopStrInOutput });
  }

  check(generated: readonly number[]): { reason: FinishReason; stopTokenId?: number } | null {
    const last = generated[generated.length - 1];
    const count = generated.length;
    if (count >= this.settings.minTokens && this.settings.stopTokenIds.has(last)) {
      this.stopTokenId = last;
      return this.finish({ reason: 'stop', stopTokenId: last });
    }
    const update = this.matcher.push(this.detokenizer.push(last));
    if (update.stop !== null && count >= this.settings.minTokens) {
      this.stopString = update.stop;
      return this.finish({ reason: 'stop' });
    }
    if (count >= this.settings.maxTokens) return this.finish({ reason: 'length' });
    return null;
  }

  /** The completion text; complete once `check` returned a verdict. */
  get text(): string {
    return this.matcher.emittedText;
  }

  private finish(verdict: { reason: FinishReason; stopTokenId?: number }) {
    if (!this.finished) {
      this.finished = true;
      if (this.stopString === null) {
        this.matcher.push(this.detokenizer.flush());
        this.matcher.flush();
      }
    }
    return verdict;
  }
}
