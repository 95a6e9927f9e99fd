import { SampleResult } from '../../src/output/completionRecord';
import { PreparedRequest } from '../../src/job/preparedRequest';
import { SampleGatherer } from '../../src/job/sampleGatherer';

function prepared(id: string, n: number): PreparedRequest {
  return {
    request: { id, index: 0, line: 1, kind: 'prompt', prompt: 'x', params: {} },
    settings: { n } as PreparedRequest['settings'],
    promptIds: [1, 2, 3],
  } as PreparedRequest;
}

const sample = (text: string): SampleResult => ({ text, reasoning: null, reasoningUnfinished: false, finishReason: 'stop', tokenIds: [7], stopString: null });

describe('SampleGatherer', () => {
  test('a request completes only when all of its samples are in, in sample order whatever order they finish in', () => {
    const gatherer = new SampleGatherer({ settings: 'fp', echoParams: false });
    const request = prepared('a', 3);
    expect(gatherer.add(request, 2, sample('two'))).toBeNull();
    expect(gatherer.add(request, 0, sample('zero'))).toBeNull();
    const done = gatherer.add(request, 1, sample('one'));
    expect(done?.samples.map((s) => s.text)).toEqual(['zero', 'one', 'two']);
    expect(done).toMatchObject({ id: 'a', promptTokens: 3, settings: 'fp', params: undefined });
  });

  test('a failed request is failed once, and its late samples are recognised', () => {
    const gatherer = new SampleGatherer({ settings: 'fp', echoParams: false });
    const request = prepared('b', 2);
    gatherer.add(request, 0, sample('zero'));
    expect(gatherer.markFailed(request)).toBe(true);
    expect(gatherer.markFailed(request)).toBe(false);
    expect(gatherer.hasFailed(request)).toBe(true);
    expect(gatherer.hasFailed(prepared('c', 1))).toBe(false);
  });
});
