/**
 * Shared token prefixes across the prompts of a run (pure code). Prompts are cut into blocks of `blockSize` token ids and
 * inserted into a trie of blocks; a node counts the distinct prompts that contain its whole path. A prompt's shared prefix
 * is the path to its deepest node reached by at least one other distinct prompt, capped at its length − 1: the last
 * prompt token is always computed, because its logits give the first generated token (this also covers a prompt that IS
 * another's prefix). Matching whole blocks keeps the trie small and ignores accidental one-token coincidences; a prompt's
 * last, partial block is a leaf of its own, so identical prompts share everything (but their last token).
 */
export interface PrefixNode {
  readonly parent: PrefixNode | null;
  /** Blocks from the root. */
  readonly depth: number;
  /** Tokens the path covers: depth × blockSize, fewer for a prompt's last, partial block. */
  readonly tokens: number;
  /** Distinct prompts whose first `tokens` tokens are this path. */
  prompts: number;
  readonly children: Map<string, PrefixNode>;
}

export interface SharedPrefix {
  /** Deepest trie node the prefix reaches (its path covers at least `length` tokens of the prompt). */
  node: PrefixNode;
  /** Prompt tokens that can come from a cached prefix: ≥ 1, < prompt length. */
  length: number;
  /** The depth-1 node: prompts with the same group share at least one block (the scheduler admits them together). */
  group: PrefixNode;
}

export const DEFAULT_PREFIX_BLOCK = 16;

export class PrefixIndex {
  private readonly root: PrefixNode = { parent: null, depth: 0, tokens: 0, prompts: 0, children: new Map() };
  private readonly shared = new Map<readonly number[], SharedPrefix | null>();

  /** Samples of one request share one prompt array and count once. */
  constructor(prompts: readonly (readonly number[])[], readonly blockSize = DEFAULT_PREFIX_BLOCK) {
    if (blockSize < 1) throw new Error('prefix block size must be ≥ 1');
    // Identical prompts of different requests are different arrays, so they count as two and do share.
    const distinct = [...new Set(prompts)];
    for (const prompt of distinct) {
      let node = this.root;
      for (const key of this.blockKeys(prompt)) {
        let child = node.children.get(key);
        if (!child) {
          const tokens = Math.min(node.tokens + blockSize, prompt.length);
          child = { parent: node, depth: node.depth + 1, tokens, prompts: 0, children: new Map() };
          node.children.set(key, child);
        }
        child.prompts++;
        node = child;
      }
    }
    for (const prompt of distinct) this.shared.set(prompt, this.find(prompt));
  }

  /** The prompt's shared prefix, or null when no other prompt shares a whole block with it (or it is one token long). */
  sharedPrefix(prompt: readonly number[]): SharedPrefix | null {
    return this.shared.get(prompt) ?? null;
  }

  private find(prompt: readonly number[]): SharedPrefix | null {
    let node = this.root;
    for (const key of this.blockKeys(prompt)) {
      const child = node.children.get(key);
      if (!child || child.prompts < 2) break;
      node = child;
    }
    const length = Math.min(node.tokens, prompt.length - 1);
    return node.depth > 0 && length > 0 ? { node, length, group: groupOf(node) } : null;
  }

  /** Keys of the prompt's blocks: whole blocks, then the partial last one (marked, so it never equals a whole block). */
  private blockKeys(prompt: readonly number[]): string[] {
    const keys: string[] = [];
    for (let start = 0; start < prompt.length; start += this.blockSize) {
      const block = prompt.slice(start, start + this.blockSize);
      keys.push(block.length === this.blockSize ? block.join(',') : `tail:${block.join(',')}`);
    }
    return keys;
  }
}

/** The depth-1 node on a node's path: its prefix group. */
export function groupOf(node: PrefixNode): PrefixNode {
  let current = node;
  while (current.parent && current.parent.depth > 0) current = current.parent;
  return current;
}

/** Whether `ancestor` lies on the path of `node` (or is it): then `node`'s tokens begin with `ancestor`'s. */
export function isOnPath(ancestor: PrefixNode, node: PrefixNode): boolean {
  let current: PrefixNode | null = node;
  while (current && current.depth > ancestor.depth) current = current.parent;
  return current === ancestor;
}

/** Tokens two trie paths have in common: the tokens of their deepest common node. */
export function commonTokens(a: PrefixNode, b: PrefixNode): number {
  let x: PrefixNode | null = a;
  let y: PrefixNode | null = b;
  while (x && y && x !== y) {
    if (x.depth >= y.depth) x = x.parent;
    else y = y.parent;
  }
  return x && y ? x.tokens : 0;
}
