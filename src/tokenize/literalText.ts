import { Tokenizer } from './tokenizer';

/**
 * Tokenizing text "literally": added-token text such as `<|im_end|>` or `<think>` becomes ordinary BPE tokens instead of
 * the control token. transformers.js 4.3 has no encode option for this (its tokenizer always splits the text on every
 * added token first, like Python's `split_special_tokens=False`), so the plain text path of the same tokenizer is run
 * directly: normalizer → pre-tokenizer → model, exactly what `encode` does to the text between added tokens.
 */

/** One run of text: `literal` text keeps added-token text as plain text, other text has its added tokens honoured. */
export interface TextPiece {
  text: string;
  literal: boolean;
}

/** Every added token's text (control tokens and tokens such as `<think>`), the strings `encode` turns into one id each. */
export function addedTokenTexts(tokenizer: Tokenizer): string[] {
  return [...tokenizer._tokenizer.get_added_tokens_decoder().values()].map((token) => token.content);
}

/**
 * Encodes pieces in order. Added tokens are recognised only inside non-literal pieces; the text between two recognised
 * added tokens is encoded as one run, whichever pieces it came from, so the result equals `tokenizer.encode` of the
 * concatenated text whenever the literal pieces contain no added-token text (no extra token boundaries).
 */
export function encodePieces(tokenizer: Tokenizer, pieces: TextPiece[]): number[] {
  const splitter = addedTokenSplitter(tokenizer);
  const ids: number[] = [];
  let run = '';
  let runIndex = 0;
  const flush = () => {
    if (run.length > 0) ids.push(...encodePlainRun(tokenizer, run, runIndex++));
    run = '';
  };
  for (const piece of pieces) {
    if (piece.literal) {
      run += piece.text;
      continue;
    }
    let last = 0;
    for (const match of piece.text.matchAll(splitter.pattern)) {
      run += piece.text.slice(last, match.index);
      flush();
      ids.push(splitter.ids.get(match[0]) as number);
      last = match.index + match[0].length;
    }
    run += piece.text.slice(last);
  }
  flush();
  return ids;
}

interface AddedTokenSplitter {
  pattern: RegExp;
  ids: Map<string, number>;
}

const splitters = new WeakMap<Tokenizer, AddedTokenSplitter>();

function addedTokenSplitter(tokenizer: Tokenizer): AddedTokenSplitter {
  const cached = splitters.get(tokenizer);
  if (cached) return cached;
  const ids = new Map<string, number>();
  for (const [id, token] of tokenizer._tokenizer.get_added_tokens_decoder()) ids.set(token.content, id);
  // Longest first: a regex alternation takes the first alternative that matches, as the tokenizer takes the longest.
  const alternatives = [...ids.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'gu') : /(?!)/gu;
  const splitter = { pattern, ids };
  splitters.set(tokenizer, splitter);
  return splitter;
}

/** The tokenizer's own path for text that contains no added token (lstrip/rstrip of added tokens does not apply here). */
function encodePlainRun(tokenizer: Tokenizer, text: string, sectionIndex: number): number[] {
  const inner = tokenizer._tokenizer;
  if (!inner.model) throw new Error('the tokenizer has no model: cannot encode literal text');
  const normalized = inner.normalizer ? inner.normalizer._call(text) : text;
  if (normalized.length === 0) return [];
  const words = inner.pre_tokenizer ? inner.pre_tokenizer._call(normalized, { section_index: sectionIndex }) : [normalized];
  const tokens = inner.model._call(words);
  return tokens.map((token) => {
    const id = inner.token_to_id(token) ?? inner.model?.unk_token_id;
    if (id === undefined) throw new Error(`token ${JSON.stringify(token)} has no id in the vocabulary`);
    return id;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
