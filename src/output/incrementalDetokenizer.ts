/** The part of a transformers.js tokenizer this module needs. */
export interface TokenDecoder {
  decode(tokenIds: number[], options?: { skip_special_tokens?: boolean }): string;
}

export interface IncrementalDetokenizerOptions {
  skipSpecialTokens?: boolean;
}

const REPLACEMENT_CHARACTER = '\uFFFD';

/**
 * Turns a growing list of generated token ids into text increments, the way vLLM does (prefix and read
 * offsets): decode the window `ids[prefixOffset:]`, subtract the text of `ids[prefixOffset:readOffset]`, and
 * emit the difference only if it does not end in U+FFFD — a byte-level token can carry half of an emoji or
 * CJK character, which decodes to U+FFFD until the rest arrives. Held tokens are re-decoded with the next one.
 * Each step decodes a few tokens only (the window restarts after every emission), so the cost per token does
 * not grow with the output length. The concatenation of all increments plus `flush()` equals
 * `decode(all ids)` for byte-level tokenizers such as Qwen3's.
 */
export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  private readonly decodeOptions: { skip_special_tokens: boolean };
  private prefixOffset = 0;
  private readOffset = 0;
  private emitted = '';

  constructor(
    private readonly tokenizer: TokenDecoder,
    options: IncrementalDetokenizerOptions = {},
  ) {
    this.decodeOptions = { skip_special_tokens: options.skipSpecialTokens ?? false };
  }

  /** Text emitted so far. */
  get text(): string {
    return this.emitted;
  }

  get tokenIds(): readonly number[] {
    return this.ids;
  }

  /** Adds one generated token; returns the text that became final ('' while a character is incomplete). */
  push(tokenId: number): string {
    this.ids.push(tokenId);
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const windowText = this.decode(this.prefixOffset, this.ids.length);
    if (windowText.length <= prefixText.length || windowText.endsWith(REPLACEMENT_CHARACTER)) return '';
    return this.emit(windowText.slice(prefixText.length), this.ids.length);
  }

  /** End of generation: returns whatever is still held back (an incomplete character stays as U+FFFD). */
  flush(): string {
    if (this.readOffset === this.ids.length) return '';
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const windowText = this.decode(this.prefixOffset, this.ids.length);
    return this.emit(windowText.slice(prefixText.length), this.ids.length);
  }

  private emit(delta: string, newReadOffset: number): string {
    this.prefixOffset = this.readOffset;
    this.readOffset = newReadOffset;
    this.emitted += delta;
    return delta;
  }

  private decode(start: number, end: number): string {
    return start === end ? '' : this.tokenizer.decode(this.ids.slice(start, end), this.decodeOptions);
  }
}
