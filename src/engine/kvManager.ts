import { KvCache } from '../runtime/kvCache';
import { DEFAULT_PREFIX_BLOCK, groupOf, PrefixIndex, SharedPrefix } from '../schedule/prefixIndex';
import { Schedulable, Scheduler, SchedulerLimits } from '../schedule/scheduler';
import { EngineStats } from './engineStats';
import { CachedPrefix, PrefixCache } from './prefixCache';
import { SequenceSpec } from './sequence';

export interface KvManagerOptions extends SchedulerLimits {
  /**
   * Cache token slots the running rows (each grown to prompt + max_tokens) and the cached prefixes may reach together
   * (from --max-memory). The first request is admitted into an empty batch regardless, so nothing starves.
   */
  maxCacheTokens?: number;
  /**
   * Automatic prefix caching (default on): a prompt that shares whole token blocks at its start with another prompt of
   * the run starts from a copy of that prefix's KV, computed once and kept in an LRU cache within `maxCacheTokens`.
   */
  prefixCache?: boolean;
  /** Tokens per block of the prefix match (default 16). */
  prefixBlockSize?: number;
}

/** A sequence waiting to start, as the scheduler sees it: with its shared prefix, if any. */
export type Waiting<R> = Schedulable & { spec: SequenceSpec<R>; prefix: SharedPrefix | null };

/** How a prompt with a shared prefix starts: from a cached prefix (a hit), or after computing one (or not: no room). */
export type PrefixStart =
  | { kind: 'hit'; entry: CachedPrefix }
  /** A miss: `base` is the cached prefix sharing the most tokens with it (computed from a copy of those), if any. */
  | { kind: 'compute'; base: { entry: CachedPrefix; tokens: number } | null }
  /** No room to cache it: the prompt is prefilled alone, from `base`'s shared tokens when there are any. */
  | { kind: 'uncached'; base: { entry: CachedPrefix; tokens: number } | null };

/**
 * The KV manager: what the cache holds and who may join it. It owns the cache budget — running rows, each grown to its
 * prompt + max_tokens, and cached prefixes, within `maxCacheTokens` — the prefix index and the prefix cache, and
 * admission: the scheduler picks the next group and the manager says whether and how it fits. No tensors: the caches it
 * keeps are the batch runner's, and the dry run drives it with a runner that computes nothing.
 */
export class KvManager<R> {
  private readonly scheduler: Scheduler<Waiting<R>>;
  private readonly prefixes: PrefixCache;
  private readonly budget: number;
  /** Waiting requests per prefix group: a cached prefix whose group has none left is dropped at once. */
  private readonly waitingInGroup = new Map<unknown, number>();
  /** Cache tokens the prefixes of the current admission may take beside the rows. */
  private prefixBudget = 0;

  private constructor(specs: readonly SequenceSpec<R>[], index: PrefixIndex | null, options: KvManagerOptions, private readonly stats: EngineStats) {
    this.budget = options.maxCacheTokens ?? Infinity;
    // For the shared_prefix finding: how many prompts one computed prefix served, the most for each prefix length.
    this.prefixes = new PrefixCache((entry) => {
      if (entry.uses > (stats.prefixUses[entry.length] ?? 0)) stats.prefixUses[entry.length] = entry.uses;
    });
    const waiting = specs.map((spec): Waiting<R> => {
      const prefix = index?.sharedPrefix(spec.promptIds) ?? null;
      const promptLength = spec.promptIds.length;
      if (prefix) this.waitingInGroup.set(prefix.group, (this.waitingInGroup.get(prefix.group) ?? 0) + 1);
      return { spec, promptLength, maxLength: promptLength + spec.maxTokens, prefix };
    });
    this.scheduler = new Scheduler(waiting, options);
  }

  /**
   * Opens the manager for a run. With prefix caching on, `exactReuse` is asked once, on the first prompt that shares a
   * prefix, whether a prompt started from a cached prefix gets the logits a whole prefill gives, bit for bit: where it does
   * not (a property of the graph), prefixes are not cached — the promise that a prompt's output does not depend on the
   * other prompts of the run comes first — and `stats.prefixReuseInexact` says so.
   */
  static async open<R>(
    specs: readonly SequenceSpec<R>[],
    options: KvManagerOptions,
    stats: EngineStats,
    exactReuse: (prompt: readonly number[], blockSize: number) => Promise<boolean>,
  ): Promise<KvManager<R>> {
    const blockSize = options.prefixBlockSize ?? DEFAULT_PREFIX_BLOCK;
    let index = options.prefixCache === false ? null : new PrefixIndex(specs.map((spec) => spec.promptIds), blockSize);
    const sharing = index && specs.find((spec) => index!.sharedPrefix(spec.promptIds));
    if (sharing && !(await exactReuse(sharing.promptIds, blockSize).catch(() => false))) {
      index = null;
      stats.prefixReuseInexact = 1;
    }
    return new KvManager(specs, index, options, stats);
  }

  /** Sequences not started yet. */
  get pending(): number {
    return this.scheduler.pending;
  }

  /**
   * The next group to start beside the `live` rows: within the free rows and the cache budget, all grown to their
   * maxLength. Cached prefixes never hold admission back: those that no longer fit beside the rows are evicted, least
   * recently used first (the first row of an empty batch is admitted whatever its size, as without the cache).
   */
  admit(live: readonly SequenceSpec<R>[]): Waiting<R>[] {
    let liveTokens = 0;
    for (const spec of live) liveTokens += spec.promptIds.length + spec.maxTokens;
    const admitted = this.scheduler.admit(live.length, { holds: (tokens) => liveTokens + tokens <= this.budget });
    if (admitted.length === 0) return admitted;
    const rowsTokens = admitted.reduce((sum, a) => sum + (a.maxLength ?? a.promptLength), liveTokens);
    this.prefixBudget = this.budget - rowsTokens;
    this.prefixes.makeRoom(0, Math.max(0, this.prefixBudget));
    return admitted;
  }

  /** How a prompt of the current admission with this shared prefix starts; counts the hit or the tokens reused. */
  prefixStart(prefix: SharedPrefix): PrefixStart {
    const entry = this.prefixes.lookup(prefix.node, prefix.length);
    if (entry) {
      this.stats.prefixHits++;
      this.stats.prefixTokensReused += prefix.length;
      entry.uses++;
      return { kind: 'hit', entry };
    }
    // A miss may still share its first tokens with a cached prefix (a common system prompt before different documents).
    const base = this.prefixes.longestShared(prefix.node, prefix.length);
    if (base) this.stats.prefixTokensReused += base.tokens;
    return { kind: this.prefixes.makeRoom(prefix.length, this.prefixBudget) ? 'compute' : 'uncached', base };
  }

  /** A prefix computed after a `compute` start: cached, and used once by the prompt that computed it. */
  store(prefix: SharedPrefix, cache: KvCache): CachedPrefix {
    const entry: CachedPrefix = { node: prefix.node, length: prefix.length, cache, uses: 1 };
    this.prefixes.add(entry);
    this.stats.prefixComputations++;
    return entry;
  }

  /**
   * Caches a copy must leave intact: the prefix cache's, and `alsoRead` (prefixes this admission still starts from: one
   * evicted to make room for another is read before its memory is let go).
   */
  retained(alsoRead: readonly KvCache[] = []): ReadonlySet<KvCache> {
    return new Set([...this.prefixes.retained, ...alsoRead]);
  }

  /** The group has started: prefixes that no waiting request can use any more are dropped. */
  started(admitted: readonly Waiting<R>[]): void {
    for (const { prefix } of admitted) if (prefix) this.waitingInGroup.set(prefix.group, this.waitingInGroup.get(prefix.group)! - 1);
    this.prefixes.dropUnused((entry) => (this.waitingInGroup.get(groupOf(entry.node)) ?? 0) > 0);
  }

  /** Stops admitting; returns the sequences never started. */
  drain(): SequenceSpec<R>[] {
    return this.scheduler.drain().map((w) => w.spec);
  }

  /** End of the run: the cached prefixes are dropped (their memory goes to the garbage collector). */
  close(): void {
    this.stats.prefixEvictions += this.prefixes.evictions;
    this.prefixes.clear();
  }
}
