import { PrefixIndex, PrefixNode } from './prefixIndex';

/** What prefix caching would save on a set of prompts, if no cached prefix were evicted. */
export interface PrefixPlan {
  /** Distinct prompts that start from a shared prefix. */
  sharing: number;
  /** Prompt tokens in all (distinct prompts). */
  promptTokens: number;
  /** Prompt tokens computed: every prompt's rest, and each shared block once. */
  computed: number;
  reused: number;
}

/**
 * The prompt tokens a run computes with prefix caching when every prefix stays cached while its requests run (the engine
 * admits the requests that share a prefix together, and computes a new prefix from the longest cached one it extends):
 * each prompt's part after its shared prefix, plus every block of the shared prefixes once.
 */
export function planPrefixReuse(prompts: readonly (readonly number[])[], index: PrefixIndex): PrefixPlan {
  const needed = new Map<PrefixNode, number>();
  let sharing = 0;
  let promptTokens = 0;
  let rests = 0;
  for (const prompt of new Set(prompts)) {
    promptTokens += prompt.length;
    const shared = index.sharedPrefix(prompt);
    if (!shared) {
      rests += prompt.length;
      continue;
    }
    sharing++;
    rests += prompt.length - shared.length;
    needed.set(shared.node, Math.max(needed.get(shared.node) ?? 0, shared.length));
  }
  // Each trie node's own block counts once, as far as any prefix through it reaches.
  const counted = new Map<PrefixNode, number>();
  let prefixTokens = 0;
  for (const [node, length] of needed) {
    let upTo = length;
    for (let current: PrefixNode = node; current.parent; current = current.parent) {
      const own = Math.max(0, Math.min(upTo, current.tokens) - current.parent.tokens);
      const already = counted.get(current) ?? 0;
      if (own > already) {
        prefixTokens += own - already;
        counted.set(current, own);
      }
      upTo = current.parent.tokens;
    }
  }
  const computed = rests + prefixTokens;
  return { sharing, promptTokens, computed, reused: promptTokens - computed };
}
