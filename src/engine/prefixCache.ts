import { KvCache } from '../runtime/kvCache';
import { commonTokens, isOnPath, PrefixNode } from '../schedule/prefixIndex';

/** A computed prefix: the KV of the first `length` tokens of `node`'s path, one row, slots 0..length-1. */
export interface CachedPrefix {
  node: PrefixNode;
  length: number;
  cache: KvCache;
  /** Sequences (distinct prompts) started from it. */
  uses: number;
}

/**
 * The prefix cache: computed prefixes kept for reuse, least recently used first out, within a token budget. Its caches are
 * retained: they are only ever read (gathered with `retained`), never given to the runner to consume.
 */
export class PrefixCache {
  private readonly entries: CachedPrefix[] = []; // most recently used last
  private held = 0;
  /** Entries dropped to make room so far. */
  evictions = 0;

  /** `onRetire` sees every entry when it leaves the cache (evicted, no longer wanted, or at the end of the run). */
  constructor(private readonly onRetire: (entry: CachedPrefix) => void = () => {}) {}

  /** Cached tokens held now (they count against the scheduler's cache budget). */
  get heldTokens(): number {
    return this.held;
  }

  get retained(): ReadonlySet<KvCache> {
    return new Set(this.entries.map((entry) => entry.cache));
  }

  /** An entry holding the first `length` tokens of `node`'s path, marked as just used. */
  lookup(node: PrefixNode, length: number): CachedPrefix | null {
    let required = node; // the shallowest node on the path that covers `length` tokens
    while (required.parent && required.parent.tokens >= length) required = required.parent;
    const index = this.entries.findIndex((entry) => entry.length >= length && isOnPath(required, entry.node));
    if (index < 0) return null;
    const [entry] = this.entries.splice(index, 1);
    this.entries.push(entry);
    return entry;
  }

  /**
   * The entry sharing the most tokens with the first `length` tokens of `node`'s path when none holds them all (e.g. a
   * cached system prompt + document A when the prompt is system prompt + document B): a new prefix is computed from a
   * copy of those tokens instead of from nothing. Marked as just used; null when no entry shares a token.
   */
  longestShared(node: PrefixNode, length: number): { entry: CachedPrefix; tokens: number } | null {
    let best: { entry: CachedPrefix; tokens: number } | null = null;
    for (const entry of this.entries) {
      const tokens = Math.min(entry.length, length, commonTokens(entry.node, node));
      if (tokens > 0 && (!best || tokens > best.tokens)) best = { entry, tokens };
    }
    if (best) this.entries.push(...this.entries.splice(this.entries.indexOf(best.entry), 1));
    return best;
  }

  /**
   * Makes room for `tokens` more within `budget` held tokens by evicting least recently used entries; false (nothing
   * evicted) when even an empty cache would not hold them.
   */
  makeRoom(tokens: number, budget: number): boolean {
    if (tokens > budget) return false;
    while (this.held + tokens > budget && this.entries.length > 0) {
      const evicted = this.entries.shift()!;
      this.held -= evicted.length;
      this.evictions++;
      this.onRetire(evicted);
    }
    return true;
  }

  /** Drops the entries no waiting request can use any more (not evictions: their work is done). */
  dropUnused(stillWanted: (entry: CachedPrefix) => boolean): void {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (stillWanted(this.entries[i])) continue;
      this.held -= this.entries[i].length;
      this.onRetire(this.entries.splice(i, 1)[0]);
    }
  }

  add(entry: CachedPrefix): void {
    this.entries.push(entry);
    this.held += entry.length;
  }

  /** Every entry ever evicted or still held is dropped: their memory goes to the garbage collector. */
  clear(): void {
    for (const entry of this.entries) this.onRetire(entry);
    this.entries.length = 0;
    this.held = 0;
  }
}
