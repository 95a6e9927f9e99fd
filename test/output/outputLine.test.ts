import { classifyOutputLine } from '../../src/output/outputLine';

const info = (line: object | string) => {
  const classified = classifyOutputLine(typeof line === 'string' ? line : JSON.stringify(line));
  return classified.ok ? classified.info : classified.reason;
};

describe('classifyOutputLine', () => {
  test('qwen-gen lines: id, index, top-level settings, error or not', () => {
    expect(info({ id: 'a', index: 3, text: 'x', settings: 'fp1' })).toEqual({ format: 'qwen-gen', id: 'a', index: 3, settings: 'fp1' });
    expect(info({ id: 7, index: 0, error: { code: 'empty_prompt', message: 'm' } })).toEqual({
      format: 'qwen-gen', id: 7, index: 0, error: { code: 'empty_prompt', message: 'm' },
    });
    expect(info({ id: null, index: 2, error: { code: 'invalid_json', message: 'm' } })).toMatchObject({ id: null, index: 2 });
    expect(info({ text: 'x' })).toBe('no "id" string or number');
  });

  test('OpenAI batch lines: custom_id (string or number), settings from the body fingerprint, failures', () => {
    const ok = { id: 'batch_req_1', custom_id: 'q1', response: { status_code: 200, body: { system_fingerprint: 'qwen-gen-fp2' } }, error: null };
    expect(info(ok)).toEqual({ format: 'openai', id: 'q1', settings: 'fp2' });
    expect(info({ ...ok, custom_id: 7 })).toMatchObject({ id: 7 });
    expect(info({ custom_id: 'q2', response: null, error: { code: 'runtime_error', message: 'm' } })).toEqual({
      format: 'openai', id: 'q2', error: { code: 'runtime_error', message: 'm' },
    });
    expect(info({ custom_id: 'q3', response: { status_code: 500 }, error: null })).toMatchObject({ error: { code: 'http_500' } });
    expect(info({ custom_id: 'q4', response: null, error: null })).toMatchObject({ error: { code: 'no_response' } });
    expect(info({ custom_id: { no: 1 }, response: ok.response })).toBe('custom_id is not a string or number');
  });

  test('a torn or foreign line is not an output line', () => {
    expect(info('{"id": "a", "te')).toBe('not valid JSON');
    expect(info('[1, 2]')).toBe('not a JSON object');
  });
});
