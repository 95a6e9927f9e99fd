/** A request waiting to be admitted: the scheduler only needs its prompt length. */
export interface Schedulable {
  promptLength: number;
}

export interface SchedulerLimits {
  /** Rows decoded together at most. */
  batchSize: number;
  /** Prompt tokens (padding included) in one prefill step at most. A longer single prompt is prefilled in chunks. */
  maxBatchTokens: number;
}

/**
 * Decides who runs next: which waiting requests are admitted into free rows of the running batch. Pure code.
 * Requests are taken longest-first: neighbours in that order have similar lengths, so a padded prefill group wastes
 * little, and the long prompts (whose cache is the most expensive to carry) start early instead of trailing at the end.
 */
export class Scheduler<T extends Schedulable> {
  private readonly waiting: T[];

  constructor(requests: readonly T[], private readonly limits: SchedulerLimits) {
    if (limits.batchSize < 1) throw new Error('batchSize must be ≥ 1');
    if (limits.maxBatchTokens < 1) throw new Error('maxBatchTokens must be ≥ 1');
    // Stable sort: equal lengths keep input order, so a run is deterministic.
    this.waiting = requests
      .map((request, order) => ({ request, order }))
      .sort((a, b) => b.request.promptLength - a.request.promptLength || a.order - b.order)
      .map(({ request }) => request);
  }

  get pending(): number {
    return this.waiting.length;
  }

  /**
   * The next group to prefill together, given how many rows are running. The group fits the free rows and, padded to its
   * longest prompt, the token budget; the first request is always admitted when a row is free, so nothing starves.
   */
  admit(running: number): T[] {
    const free = this.limits.batchSize - running;
    if (free <= 0 || this.waiting.length === 0) return [];
    const group: T[] = [this.waiting[0]];
    let longest = this.waiting[0].promptLength;
    while (group.length < free && group.length < this.waiting.length) {
      const candidate = this.waiting[group.length];
      const width = Math.max(longest, candidate.promptLength);
      if (width * (group.length + 1) > this.limits.maxBatchTokens) break;
      longest = width;
      group.push(candidate);
    }
    this.waiting.splice(0, group.length);
    return group;
  }

  /** Stops admitting (e.g. on SIGINT); returns what was never started. */
  drain(): T[] {
    return this.waiting.splice(0, this.waiting.length);
  }
}
