import { FinishedSample, sampleResult } from '../../src/output/finishedSample';

const decoder = { decode: (ids: number[]) => ids.map((id) => `<${id}>`).join('') };

const sample: FinishedSample = {
  text: '<think>\nweighing it\n</think>\n\nParis',
  stopString: null,
  finishReason: 'stop',
  stopTokenId: 2,
  tokenIds: [11, 12],
  choices: [
    { tokenId: 11, logprob: -0.123456, topLogprobs: [{ tokenId: 13, logprob: -2.5 }] },
    { tokenId: 12, logprob: -1 },
  ],
};

describe('sampleResult', () => {
  test('chat requests get the reasoning split off; prompt requests keep the text whole', () => {
    const chat = sampleResult(sample, { splitReasoning: true, logprobs: false, tokenizer: decoder });
    expect(chat).toMatchObject({ text: 'Paris', reasoning: 'weighing it', reasoningUnfinished: false, finishReason: 'stop', stopTokenId: 2 });
    expect(chat.logprobs).toBeUndefined();
    const prompt = sampleResult(sample, { splitReasoning: false, logprobs: false, tokenizer: decoder });
    expect(prompt).toMatchObject({ text: sample.text, reasoning: null });
  });

  test('logprobs are formatted with token texts, rounded to 4 decimals', () => {
    const result = sampleResult(sample, { splitReasoning: false, logprobs: true, tokenizer: decoder });
    expect(result.logprobs).toEqual([
      { token: '<11>', token_id: 11, logprob: -0.1235, top_logprobs: [{ token: '<13>', token_id: 13, logprob: -2.5 }] },
      { token: '<12>', token_id: 12, logprob: -1, top_logprobs: [] },
    ]);
  });
});
