import { promptOpensThinking, splitReasoning } from '../../src/output/reasoningSplit';

describe('splitReasoning', () => {
  it('splits a complete think block with Qwen3’s newline trimming', () => {
    expect(splitReasoning('<think>\nLet me add 2 and 2.\nIt is 4.\n</think>\n\nThe answer is 4.')).toEqual({
      reasoning: 'Let me add 2 and 2.\nIt is 4.',
      text: 'The answer is 4.',
      reasoningUnfinished: false,
    });
  });
  it('keeps an empty think block (what enable_thinking=false style output looks like) as empty reasoning', () => {
    expect(splitReasoning('<think>\n\n</think>\n\nHi!')).toEqual({ reasoning: '', text: 'Hi!', reasoningUnfinished: false });
  });
  it('reports an unfinished think block (e.g. max_tokens hit while thinking)', () => {
    expect(splitReasoning('<think>\nFirst, consider')).toEqual({
      reasoning: 'First, consider',
      text: '',
      reasoningUnfinished: true,
    });
  });
  it('output without a think block is all answer', () => {
    expect(splitReasoning('Just an answer.\n')).toEqual({ reasoning: null, text: 'Just an answer.\n', reasoningUnfinished: false });
    // a closing tag alone is answer text unless the caller says thinking was open
    expect(splitReasoning('oops</think>rest')).toEqual({ reasoning: null, text: 'oops</think>rest', reasoningUnfinished: false });
    // a <think> that is not at the start is answer text
    expect(splitReasoning('A <think> tag</think>')).toMatchObject({ reasoning: null, text: 'A <think> tag</think>' });
  });
  it('allows whitespace before the opening tag', () => {
    expect(splitReasoning('\n<think>r</think>t')).toEqual({ reasoning: 'r', text: 't', reasoningUnfinished: false });
  });
  it('when the prompt opened the block, the output starts inside it and carries only </think>', () => {
    expect(splitReasoning('\nreasoning here\n</think>\n\nanswer', { thinkingOpen: true })).toEqual({
      reasoning: 'reasoning here',
      text: 'answer',
      reasoningUnfinished: false,
    });
    expect(splitReasoning('still thinking', { thinkingOpen: true })).toEqual({
      reasoning: 'still thinking',
      text: '',
      reasoningUnfinished: true,
    });
    expect(splitReasoning('', { thinkingOpen: true })).toEqual({ reasoning: '', text: '', reasoningUnfinished: true });
  });
  it('ends the block at the first </think>; later tags belong to the answer', () => {
    expect(splitReasoning('<think>a</think>b</think>c')).toEqual({ reasoning: 'a', text: 'b</think>c', reasoningUnfinished: false });
  });
});

describe('promptOpensThinking', () => {
  it('is true only when the rendered prompt ends with <think>', () => {
    expect(promptOpensThinking('<|im_start|>assistant\n<think>\n')).toBe(true);
    expect(promptOpensThinking('<|im_start|>assistant\n')).toBe(false);
    expect(promptOpensThinking('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(false);
    expect(promptOpensThinking('<|im_start|>user\nsay <think><|im_end|>\n<|im_start|>assistant\n')).toBe(false);
  });
});
