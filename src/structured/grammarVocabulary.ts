import * as fs from 'node:fs';
import * as path from 'node:path';

/** The tokenizer as xgrammar needs it: every token's string by id, and how those strings encode bytes. */
export interface GrammarVocabulary {
  /** Token strings by id as tokenizer.json writes them (byte-level alphabet for byte-level BPE); "" for ids the output never shows. */
  encodedVocab: string[];
  vocabType: 'byte_level' | 'byte_fallback' | 'raw';
  prependSpace: boolean;
}

type Json = Record<string, unknown>;

/**
 * Reads the model folder's tokenizer.json: the model's vocabulary, then the added tokens at their ids. Special added
 * tokens (`<|im_start|>`, `<|endoftext|>`, …) are given as "": the output text skips them (decoded with
 * skip_special_tokens), so a grammar must never produce them; xgrammar treats an empty token as special and never allows
 * it (stop ids are passed apart). Ids the tokenizer leaves unused (up to the logits width) are special the same way.
 */
export function readGrammarVocabulary(modelDir: string): GrammarVocabulary {
  return grammarVocabulary(JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')) as Json);
}

export function grammarVocabulary(tokenizer: Json): GrammarVocabulary {
  const model = (tokenizer.model ?? {}) as Json;
  const encodedVocab: string[] = [];
  const vocab = model.vocab;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [token, id] of Object.entries(vocab as Record<string, number>)) encodedVocab[id] = token;
  } else if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], …] by id.
    vocab.forEach((entry, id) => (encodedVocab[id] = Array.isArray(entry) ? String(entry[0]) : String(entry)));
  }
  for (const added of (tokenizer.added_tokens ?? []) as { id: number; content: string; special?: boolean }[]) {
    encodedVocab[added.id] = added.special ? '' : added.content;
  }
  for (let id = 0; id < encodedVocab.length; id++) encodedVocab[id] ??= '';
  return { encodedVocab, vocabType: vocabTypeOf(tokenizer), prependSpace: prependsSpace(tokenizer) };
}

/** As xgrammar's own `TokenizerInfo.from_huggingface` detects it: a ByteLevel decoder, or BPE with byte fallback. */
function vocabTypeOf(tokenizer: Json): GrammarVocabulary['vocabType'] {
  const decoders = decoderList(tokenizer.decoder as Json | null | undefined);
  if (decoders.some((d) => d.type === 'ByteLevel')) return 'byte_level';
  if ((tokenizer.model as Json | undefined)?.byte_fallback === true || decoders.some((d) => d.type === 'ByteFallback')) return 'byte_fallback';
  return 'raw';
}

/** SentencePiece-style tokenizers put "▁" before the text (Metaspace with a prepend scheme, or a Prepend normalizer). */
function prependsSpace(tokenizer: Json): boolean {
  const normalizers = [tokenizer.normalizer as Json | null, ...(((tokenizer.normalizer as Json | null)?.normalizers as Json[]) ?? [])];
  if (normalizers.some((n) => n?.type === 'Prepend')) return true;
  const pre = tokenizer.pre_tokenizer as Json | null;
  const pres = [pre, ...(((pre?.pretokenizers as Json[]) ?? []))];
  return pres.some((p) => p?.type === 'Metaspace' && (p.prepend_scheme === 'always' || p.prepend_scheme === 'first' || p.add_prefix_space === true));
}

function decoderList(decoder: Json | null | undefined): Json[] {
  if (!decoder) return [];
  return decoder.type === 'Sequence' ? ((decoder.decoders as Json[]) ?? []) : [decoder];
}
