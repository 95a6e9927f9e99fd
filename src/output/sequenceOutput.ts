import { FinishedSequence, TextStop } from '../engine/sequence';
import { IncrementalDetokenizer, TokenDecoder } from './incrementalDetokenizer';
import { StopStringMatcher } from './stopStrings';

export interface SequenceOutputSettings {
  /** A stop string counts only from this many generated tokens on (min_tokens). */
  minTokens: number;
  stopStrings: readonly string[];
  includeStopStrInOutput: boolean;
}

/**
 * The text of one sequence: output/'s half of stopping. With stop strings it watches the text as tokens arrive
 * (detokenized incrementally, matched across token boundaries) and cuts it exactly at a match; its `textStop` tells the
 * engine when one completed. Without stop strings nothing is decoded while the sequence runs: its text is its tokens
 * decoded once at the end (the same text: the increments of a byte-level tokenizer add up to the whole decode).
 */
export class SequenceOutput {
  private readonly watcher: StopStringWatcher | null;
  private readonly decoder: TokenDecoder;

  constructor(tokenizer: TokenDecoder, settings: SequenceOutputSettings) {
    this.decoder = tokenizer;
    this.watcher = settings.stopStrings.some((stop) => stop.length > 0) ? new StopStringWatcher(tokenizer, settings) : null;
  }

  /** The text-level stop for the engine, only when this sequence has stop strings. */
  get textStop(): TextStop | undefined {
    return this.watcher ?? undefined;
  }

  /** The stop string that ended the sequence, or null. */
  get stopString(): string | null {
    return this.watcher?.stopString ?? null;
  }

  /** The completion text of the finished sequence: cut at its stop string, or its tokens decoded (a stop token excluded). */
  textOf(finished: Pick<FinishedSequence, 'tokenIds' | 'stopTokenId'>): string {
    if (this.watcher) return this.watcher.finalText();
    const ids = finished.stopTokenId === undefined ? finished.tokenIds : finished.tokenIds.slice(0, -1);
    return ids.length === 0 ? '' : this.decoder.decode(ids, { skip_special_tokens: true });
  }
}

/** Detokenizes a sequence as it grows and finds its stop strings, also across token boundaries. */
class StopStringWatcher implements TextStop {
  private readonly detokenizer: IncrementalDetokenizer;
  private readonly matcher: StopStringMatcher;
  private flushed = false;
  stopString: string | null = null;

  constructor(tokenizer: TokenDecoder, private readonly settings: SequenceOutputSettings) {
    this.detokenizer = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens: true });
    this.matcher = new StopStringMatcher(settings.stopStrings, { includeStopStrInOutput: settings.includeStopStrInOutput });
  }

  push(tokenId: number, generated: number): boolean {
    const update = this.matcher.push(this.detokenizer.push(tokenId));
    if (update.stop === null || generated < this.settings.minTokens) return false;
    this.stopString = update.stop;
    return true;
  }

  /** The text once the sequence ended: what the matcher emitted, plus the held-back tail when no stop string matched. */
  finalText(): string {
    if (!this.flushed && this.stopString === null) {
      this.matcher.push(this.detokenizer.flush());
      this.matcher.flush();
    }
    this.flushed = true;
    return this.matcher.emittedText;
  }
}
