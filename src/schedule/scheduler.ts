import { SharedPrefix } from './prefixIndex';

/**
 * A request waiting to be admitted: the scheduler only needs its prompt length, how long it may grow, and the prompt
 * prefix it shares with others (if any). The one scheduling type: the engine's waiting sequences are these.
 */
export interface Schedulable {
  promptLength: number;
  /** Prompt plus max_tokens: the longest its cache row can become. */
  maxLength?: number;
  /** The shared prompt prefix it can start from (prefix index): sets its prefill length and its group by default. */
  prefix?: SharedPrefix | null;
  /** Positions its prefill computes when less than the prompt; default: the part after its prefix (all of it without). */
  prefillLength?: number;
  /**
   * Requests with the same group (one shared prompt prefix) are queued next to each other, so they are admitted close
   * together; groups are ordered by their longest prompt. Default: the prefix's group, else each request alone.
   */
  group?: unknown;
}

function prefillLengthOf(item: Schedulable): number {
  return item.prefillLength ?? item.promptLength - (item.prefix?.length ?? 0);
}

function groupKeyOf(item: Schedulable): unknown {
  return item.group ?? item.prefix?.group;
}

export interface SchedulerLimits {
  /** Rows decoded together at most. */
  batchSize: number;
  /** Prompt tokens (padding included) in one prefill step at most. A longer single prompt is prefilled in chunks. */
  maxBatchTokens: number;
  /**
   * Largest share of pad positions a prefill group may have (default 0.05). Prefill on a CPU costs in proportion to the
   * positions computed, so joining a long prompt with short ones saves nothing and pays for every pad; prompts of
   * similar length batch well (the queue is length-sorted, so neighbours are similar).
   */
  maxPaddingFraction?: number;
}

/**
 * What the scheduler asks before it admits: whether the cache holds this many more token slots beside what is running
 * (every row grown to its maxLength). The KV manager answers; without one, the cache is unbounded.
 */
export interface CacheRoom {
  holds(tokens: number): boolean;
}

const UNBOUNDED: CacheRoom = { holds: () => true };

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
    // Stable sort: equal lengths keep input order, so a run is deterministic. Without groups each request is its own
    // group, and the order is simply longest first.
    const groups = new Map<unknown, { longest: number; first: number }>();
    const entries = requests.map((request, order) => {
      const group = groupKeyOf(request);
      const key = group === undefined ? { order } : group;
      const stats = groups.get(key) ?? { longest: 0, first: order };
      stats.longest = Math.max(stats.longest, request.promptLength);
      groups.set(key, stats);
      return { request, order, group: stats };
    });
    this.waiting = entries
      .sort((a, b) =>
        b.group.longest - a.group.longest || a.group.first - b.group.first || b.request.promptLength - a.request.promptLength || a.order - b.order)
      .map(({ request }) => request);
  }

  get pending(): number {
    return this.waiting.length;
  }

  /**
   * The next group to prefill together, given how many rows are running. The group fits the free rows, padded to its
   * longest prompt the token budget, and grown to its maxLength the cache `room`; the first request is always admitted
   * into an empty batch, whatever its size, so nothing starves (it then runs alone).
   */
  admit(running: number, room: CacheRoom = UNBOUNDED): T[] {
    const free = this.limits.batchSize - running;
    if (free <= 0 || this.waiting.length === 0) return [];
    const grown = (item: T) => item.maxLength ?? item.promptLength;
    let cache = grown(this.waiting[0]);
    if (running > 0 && !room.holds(cache)) return [];
    const maxPadding = this.limits.maxPaddingFraction ?? 0.05;
    const computed = prefillLengthOf;
    const group: T[] = [this.waiting[0]];
    let longest = computed(this.waiting[0]);
    let real = longest;
    while (group.length < free && group.length < this.waiting.length) {
      const candidate = this.waiting[group.length];
      const width = Math.max(longest, computed(candidate));
      const positions = width * (group.length + 1);
      if (positions > this.limits.maxBatchTokens) break;
      if (positions - (real + computed(candidate)) > maxPadding * positions) break;
      if (!room.holds(cache + grown(candidate))) break;
      cache += grown(candidate);
      real += computed(candidate);
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
