export interface StopStringMatcherOptions {
  /** Keep the matched stop string at the end of the output (vLLM `include_stop_str_in_output`). */
  includeStopStrInOutput?: boolean;
}

export interface StopStringUpdate {
  /** Text that became safe to emit with this update (may be ''). */
  text: string;
  /** The stop string that matched, or null while generation should go on. */
  stop: string | null;
}

export interface StopStringMatch {
  stop: string;
  /** Index in the text where the match starts / ends (exclusive). */
  start: number;
  end: number;
}

/**
 * The match that completes first in `text` (smallest end), among those ending there the longest (smallest
 * start). Only matches with end ≥ `minEnd` are considered. "Completes first" rather than "starts first" makes
 * the result independent of how the text was split into tokens: it is exactly the point where a streaming
 * generator would have to stop.
 */
export function findFirstStop(text: string, stops: readonly string[], minEnd = 0): StopStringMatch | null {
  let best: StopStringMatch | null = null;
  for (const stop of stops) {
    if (stop.length === 0) continue;
    const start = text.indexOf(stop, Math.max(0, minEnd - stop.length));
    if (start < 0) continue;
    const end = start + stop.length;
    if (best === null || end < best.end || (end === best.end && start < best.start)) best = { stop, start, end };
  }
  return best;
}

/** Length of the longest suffix of `text` that is a proper prefix of some stop string (a match in progress). */
export function partialStopSuffixLength(text: string, stops: readonly string[]): number {
  let longest = 0;
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > longest; length--) {
      if (text.endsWith(stop.slice(0, length))) {
        longest = length;
        break;
      }
    }
  }
  return longest;
}

/**
 * Finds stop strings in the growing decoded text of one sample, across token boundaries. Feed it each new
 * piece of text (e.g. the increments of IncrementalDetokenizer): it returns the text that is safe to emit,
 * holding back any tail that could still become a stop string, and on a match cuts exactly at it (or just
 * after it with includeStopStrInOutput). Nothing is emitted after a match. At the end of generation without
 * a match, `flush()` releases the held-back tail.
 */
export class StopStringMatcher {
  private readonly stops: readonly string[];
  private readonly includeStop: boolean;
  private fullText = '';
  private emittedUpTo = 0;
  private matched: StopStringMatch | null = null;

  constructor(stops: readonly string[], options: StopStringMatcherOptions = {}) {
    this.stops = stops.filter((stop) => stop.length > 0);
    this.includeStop = options.includeStopStrInOutput ?? false;
  }

  /** The stop string that matched, or null. */
  get stop(): string | null {
    return this.matched?.stop ?? null;
  }

  /** All text emitted so far (the final output once stopped or flushed). */
  get emittedText(): string {
    return this.fullText.slice(0, this.emittedUpTo);
  }

  push(delta: string): StopStringUpdate {
    if (this.matched) return { text: '', stop: this.matched.stop };
    const previousLength = this.fullText.length;
    this.fullText += delta;
    const match = findFirstStop(this.fullText, this.stops, previousLength + 1);
    if (match) {
      this.matched = match;
      return { text: this.emitUpTo(this.includeStop ? match.end : match.start), stop: match.stop };
    }
    const safeEnd = this.fullText.length - partialStopSuffixLength(this.fullText, this.stops);
    return { text: this.emitUpTo(safeEnd), stop: null };
  }

  /** End of generation: releases the held-back tail (nothing if a stop string matched). */
  flush(): string {
    return this.matched ? '' : this.emitUpTo(this.fullText.length);
  }

  private emitUpTo(end: number): string {
    if (end <= this.emittedUpTo) return '';
    const text = this.fullText.slice(this.emittedUpTo, end);
    this.emittedUpTo = end;
    return text;
  }
}
