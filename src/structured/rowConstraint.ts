import type { GrammarMatcher } from '@mlc-ai/web-xgrammar';
import type { TokenConstraint } from '../engine/sequence';
import { CompiledConstraint } from './constraintCompiler';
import { StructuredStats } from './structuredStats';

export interface RowConstraintOptions {
  /**
   * Qwen3 thinking (chat requests with enable_thinking): the first token may also be `<think>` (ids of `<think>` and
   * `</think>`); then the reasoning stays free text and the grammar starts after `</think>`, as vLLM's reasoning parsers
   * do. A first token other than `<think>` is the grammar's. null: the grammar starts at the first token.
   */
  thinking: { startTokenId: number; endTokenId: number } | null;
  /** The ids that end a grammar (the model's eos ids, as given to xgrammar's tokenizer info). */
  stopTokenIds: readonly number[];
  stats: StructuredStats;
}

/**
 * Where a row is: its first token may still open a think block (`first`), it is thinking (free text), its grammar applies
 * (`grammar`), or its grammar has ended.
 */
type Phase = 'first' | 'thinking' | 'grammar' | 'ended';

/**
 * One row's structured-output state: an xgrammar matcher over the row's own tokens (never shared, so a row's output
 * does not depend on its batch mates), the bitmask of its next token, and the thinking gate. The grammar ends when the
 * matcher accepts a stop token: that eos is generated as a token (it is in completion_token_ids, not in the text), so the
 * text is exactly a string of the grammar.
 */
export class RowConstraint implements TokenConstraint {
  private matcher: GrammarMatcher | null = null;
  /** The allowed set of the next token (bit set = allowed), once prepared. */
  private bitmask: Int32Array | null = null;
  /** The bitmask being computed for the next token. */
  private pending: Promise<void> | null = null;
  private phase: Phase;
  private disposed = false;

  constructor(private readonly compiled: CompiledConstraint, private readonly options: RowConstraintOptions) {
    this.phase = options.thinking ? 'first' : 'grammar';
  }

  /** The grammar has ended (its stop token accepted): the row is done. */
  get finished(): boolean {
    return this.phase === 'ended';
  }

  /** The grammar restricts the next token (not while the row is thinking, nor once it has ended). */
  get constraining(): boolean {
    return this.phase === 'first' || this.phase === 'grammar';
  }

  /** The engine's view: a row that is thinking is sampled as if unconstrained (a plain greedy row keeps its fast path). */
  get active(): boolean {
    return this.constraining;
  }

  /** The bitmask of the next token, computed (or being computed: `accept` starts it early) — await it before masking. */
  prepare(): Promise<void> {
    if (!this.constraining || this.bitmask || this.disposed) return Promise.resolve();
    this.pending ??= this.computeBitmask();
    return this.pending;
  }

  /**
   * Starts the next bitmask on the event loop's check phase (setImmediate), not now: by then the engine has usually
   * launched the next model step, which runs off the JS thread, so xgrammar's work overlaps it.
   */
  private prefetch(): void {
    if (!this.constraining || this.disposed) return;
    const pending = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.computeBitmask());
    pending.catch(() => undefined); // awaited (and rethrown) by prepare(); a row that ends first never needs it
    this.pending = pending;
  }

  private async computeBitmask(): Promise<void> {
    if (!this.constraining || this.bitmask || this.disposed) return;
    const started = performance.now();
    const { instance, grammar } = this.compiled;
    this.matcher ??= await instance.guard(() => instance.lib.GrammarMatcher.createGrammarMatcher(grammar));
    if (this.disposed) return;
    this.bitmask = await instance.guard(() => this.matcher!.getNextTokenBitmask());
    this.options.stats.bitmaskMs += performance.now() - started;
  }

  /**
   * Masks a working copy in place: sets the logits of the tokens not allowed next to -Infinity. Returns true when
   * only stop tokens are allowed (the constrained text is complete: min_tokens must not block its end), false when other
   * tokens are, and false without touching the row when the grammar does not restrict this token (thinking).
   */
  mask(row: Float32Array): boolean {
    if (!this.constraining) return false;
    const bitmask = this.preparedBitmask(row.length);
    const started = performance.now();
    const words = Math.ceil(row.length / 32);
    const thinkStart = this.phase === 'first' ? this.options.thinking!.startTokenId : -1;
    const thinkLogit = thinkStart >= 0 && thinkStart < row.length ? row[thinkStart] : -Infinity;
    let allowed = allowedCount(bitmask, words) * 2 > row.length ? clearForbidden(row, bitmask, words) : keepOnlyAllowed(row, bitmask, words);
    if (thinkLogit !== -Infinity && row[thinkStart] === -Infinity) {
      row[thinkStart] = thinkLogit;
      allowed++;
    }
    const onlyStopTokens = allowed === this.allowedStops(bitmask, row.length);
    this.options.stats.applyMs += performance.now() - started;
    return onlyStopTokens;
  }

  /** Whether the prepared bitmask allows `tokenId` next (one bit test; for checks and tests). */
  allows(tokenId: number): boolean {
    const bitmask = this.preparedBitmask(tokenId + 1);
    return ((bitmask[tokenId >> 5] >>> (tokenId & 31)) & 1) === 1;
  }

  private preparedBitmask(width: number): Int32Array {
    const bitmask = this.bitmask;
    if (!bitmask) throw new Error('structured output: the next-token mask was not prepared before sampling');
    if (bitmask.length * 32 < width) throw new Error(`structured output: the grammar covers ${bitmask.length * 32} token ids, the logits have ${width}`);
    return bitmask;
  }

  private allowedStops(bitmask: Int32Array, width: number): number {
    let count = 0;
    for (const id of this.options.stopTokenIds) if (id < width && (bitmask[id >> 5] >>> (id & 31)) & 1) count++;
    return count;
  }

  /** Records the row's chosen token; true once the grammar has ended (the row stops there). */
  accept(tokenId: number): boolean {
    this.bitmask = null;
    this.pending = null;
    if (this.phase === 'thinking') {
      if (tokenId === this.options.thinking!.endTokenId) this.phase = 'grammar';
      this.prefetch();
      return false;
    }
    if (this.phase === 'ended') return true;
    const started = performance.now();
    if (this.phase === 'first') {
      this.phase = 'grammar';
      if (tokenId === this.options.thinking!.startTokenId) {
        this.phase = 'thinking';
        return false;
      }
    }
    if (!this.matcher || !this.matcher.acceptToken(tokenId)) {
      throw new Error(`structured output: token ${tokenId} was chosen but the grammar does not allow it`);
    }
    this.options.stats.maskedTokens++;
    if (this.matcher.isTerminated()) {
      this.phase = 'ended';
      this.dispose();
    }
    this.options.stats.applyMs += performance.now() - started;
    this.prefetch();
    return this.phase === 'ended';
  }

  /**
   * Whether the text so far is a complete string of the grammar (for a row that ended at max_tokens): it ended, or a stop
   * token would be accepted now. Ends the matcher; call it once, when the row is done.
   */
  complete(): boolean {
    if (this.phase === 'ended') return true;
    // Still thinking, or no matcher (the row ended at `</think>` itself): no answer was given.
    if (this.phase === 'thinking' || !this.matcher || this.disposed) {
      this.dispose();
      return false;
    }
    const stop = this.options.stopTokenIds[0];
    const complete = stop !== undefined && this.matcher.acceptToken(stop);
    this.dispose();
    return complete;
  }

  /** Frees the matcher (xgrammar's memory is its own WebAssembly heap, not garbage collected). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.matcher?.dispose();
    this.matcher = null;
    this.bitmask = null;
    this.pending = null;
  }
}

function allowedCount(bitmask: Int32Array, words: number): number {
  let bits = 0;
  for (let w = 0; w < words; w++) bits += popcount(bitmask[w]);
  return bits;
}

function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** In place, for a mask that allows most tokens: the forbidden ones set to -Infinity. Returns the allowed count. */
function clearForbidden(row: Float32Array, bitmask: Int32Array, words: number): number {
  let forbidden = 0;
  for (let w = 0; w < words; w++) {
    let word = ~bitmask[w];
    if (word === 0) continue;
    const base = w << 5;
    while (word !== 0) {
      const id = base + (31 - Math.clz32(word & -word));
      if (id < row.length) {
        row[id] = -Infinity;
        forbidden++;
      }
      word &= word - 1;
    }
  }
  return row.length - forbidden;
}

let kept = new Float32Array(0);

/** In place, for a mask that allows few tokens: their logits are kept aside, the row filled with -Infinity, then put back. */
function keepOnlyAllowed(row: Float32Array, bitmask: Int32Array, words: number): number {
  if (kept.length < row.length) kept = new Float32Array(row.length);
  const ids: number[] = [];
  for (let w = 0; w < words; w++) {
    let word = bitmask[w];
    const base = w << 5;
    while (word !== 0) {
      const id = base + (31 - Math.clz32(word & -word));
      if (id < row.length) {
        kept[ids.length] = row[id];
        ids.push(id);
      }
      word &= word - 1;
    }
  }
  row.fill(-Infinity);
  for (let i = 0; i < ids.length; i++) row[ids[i]] = kept[i];
  return ids.length;
}
