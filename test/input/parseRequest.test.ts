import { parseRequestLine, readRequests, type ParsedLine } from '../../src/input';

const parse = (object: unknown, line = 7, index = 3): ParsedLine =>
  parseRequestLine(typeof object === 'string' ? object : JSON.stringify(object), line, index);

function expectRequest(parsed: ParsedLine) {
  if (!parsed.ok) throw new Error(`expected a request, got ${parsed.error.message}`);
  return parsed.request;
}
function expectError(parsed: ParsedLine) {
  if (parsed.ok) throw new Error(`expected an error, got request ${JSON.stringify(parsed.request)}`);
  return parsed.error;
}

describe('qwen-gen lines', () => {
  test('a prompt line keeps its id and numbering', () => {
    expect(parse({ id: 'q1', prompt: 'Hi', max_tokens: 4 })).toEqual({
      ok: true,
      format: 'qwen-gen',
      implicitId: false,
      request: { id: 'q1', index: 3, line: 7, kind: 'prompt', prompt: 'Hi', params: { max_tokens: 4 } },
    });
  });

  test('a missing id becomes the 1-based line number; numeric ids stay numbers', () => {
    const implicit = parse({ prompt: 'x' }, 12, 9);
    expect(implicit.ok && implicit.implicitId).toBe(true);
    expect(expectRequest(implicit).id).toBe(12);
    expect(expectRequest(parse({ id: 0, prompt: 'x' })).id).toBe(0);
    expect(expectRequest(parse({ id: -5, prompt: 'x' })).id).toBe(-5);
  });

  test('a messages line', () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: '你好 🙂' },
      { role: 'assistant', content: 'Hi' },
      { role: 'tool', content: '{"x":1}' },
    ];
    const request = expectRequest(parse({ messages, enable_thinking: false }));
    expect(request).toEqual({ id: 7, index: 3, line: 7, kind: 'messages', messages, params: { enable_thinking: false } });
    expect(request.warnings).toBeUndefined();
  });

  test('an empty message content is valid but carries an empty_content warning', () => {
    const request = expectRequest(parse({ messages: [{ role: 'user', content: '' }] }));
    expect(request.messages).toEqual([{ role: 'user', content: '' }]);
    expect(request.warnings).toEqual([
      { code: 'empty_content', field: 'messages[0].content', message: 'field "messages[0].content" is an empty string' },
    ]);
  });

  test('the message names the line, the field, the rule and the value', () => {
    expect(expectError(parse({ id: 'h', prompt: 'x', temperature: 'hot' }))).toEqual({
      line: 7,
      index: 3,
      id: 'h',
      code: 'invalid_field',
      field: 'temperature',
      message: 'line 7: field "temperature" must be a number ≥ 0, got "hot"',
    });
    expect(expectError(parse({ prompt: 'x', top_p: 0 })).message).toBe('line 7: field "top_p" must be a number > 0 and ≤ 1, got 0');
    expect(expectError(parse({ prompt: 'x', n: 17 })).message).toBe('line 7: field "n" must be an integer from 1 to 16, got 17');
    expect(expectError(parse({ prompt: 'x', max_tokens: 2.5 })).message).toBe('line 7: field "max_tokens" must be an integer ≥ 1, got 2.5');
    expect(expectError(parse({ prompt: 'x', ignore_eos: 1 })).message).toBe('line 7: field "ignore_eos" must be true or false, got 1');
    expect(expectError(parse({ prompt: 'x', stop: {} })).message).toBe(
      'line 7: field "stop" must be a non-empty string or an array of non-empty strings, got an object',
    );
  });

  test('long values are shortened in messages', () => {
    const message = expectError(parse({ prompt: 'x', seed: 'y'.repeat(500) })).message;
    expect(message).toBe(`line 7: field "seed" must be an integer, got "${'y'.repeat(40)}…"`);
  });

  test('boundary values of every range are accepted', () => {
    const params = {
      max_tokens: 1, min_tokens: 0, temperature: 0, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 0.01,
      presence_penalty: -2, frequency_penalty: 2, seed: 0, stop: [], stop_token_ids: [0], ignore_eos: true,
      logprobs: 20, n: 16, enable_thinking: true, include_stop_str_in_output: false,
    };
    expect(expectRequest(parse({ prompt: 'x', ...params })).params).toEqual(params);
    expect(expectRequest(parse({ prompt: 'x', n: 1, logprobs: 0, min_p: 1 })).params).toEqual({ n: 1, logprobs: 0, min_p: 1 });
  });

  test('a stop string becomes a one-element array; null parameters count as not given', () => {
    expect(expectRequest(parse({ prompt: 'x', stop: '\n\n', temperature: null, metadata: null })).params).toEqual({ stop: ['\n\n'] });
  });

  test('a bad element of stop or stop_token_ids is pointed at', () => {
    expect(expectError(parse({ prompt: 'x', stop: ['a', 5] })).message).toBe('line 7: field "stop[1]" must be a non-empty string, got 5');
    expect(expectError(parse({ prompt: 'x', stop_token_ids: [3, 1.5] })).message).toBe(
      'line 7: field "stop_token_ids[1]" must be a token id (an integer ≥ 0), got 1.5',
    );
    expect(expectError(parse({ prompt: 'x', stop_token_ids: 3 })).field).toBe('stop_token_ids');
  });

  test('min_tokens above max_tokens is a conflict', () => {
    const error = expectError(parse({ prompt: 'x', min_tokens: 9, max_tokens: 3 }));
    expect([error.code, error.field]).toEqual(['conflicting_fields', 'min_tokens']);
  });

  test('unknown fields are named, with a suggestion when one is close', () => {
    expect(expectError(parse({ prompt: 'x', temprature: 1 })).message).toBe(
      'line 7: unknown field "temprature"; did you mean "temperature"?',
    );
    expect(expectError(parse({ prompt: 'x', max_new_tokens: 1 })).message).toBe(
      'line 7: unknown field "max_new_tokens"; did you mean "max_tokens"?',
    );
    expect(expectError(parse({ prompt: 'x', Top_P: 1 })).message).toBe('line 7: unknown field "Top_P"; did you mean "top_p"?');
    expect(expectError(parse({ prompt: 'x', colour: 'red' })).message).toBe(
      'line 7: unknown field "colour"; to copy extra fields such as this one to the output record, use --keep-fields',
    );
  });

  test('metadata passes through unchanged', () => {
    const metadata = { source: 'unit', nested: { list: [1, 'two', null] } };
    expect(expectRequest(parse({ prompt: 'x', metadata })).metadata).toEqual(metadata);
  });

  test('a JSON parse failure keeps the parser reason', () => {
    const error = expectError(parse('{"prompt": '));
    expect(error.code).toBe('invalid_json');
    expect(error.message).toMatch(/^line 7: not valid JSON \(.+\)$/);
    expect(error.id).toBeUndefined();
  });

  test('an error on a line without id is labelled with the line number; with an invalid id, not at all', () => {
    expect(expectError(parse({ prompt: 3 })).id).toBe(7);
    expect(expectError(parse({ id: [1], prompt: 'x' })).id).toBeUndefined();
  });

  test('a deeply nested line is walked without overflowing the stack', () => {
    const depth = 50000; // far beyond what a recursive walk survives (~10k frames)
    const nested = (inner: string) => `{"prompt": "x", "metadata": {"deep": ${'['.repeat(depth)}${inner}${']'.repeat(depth)}}}`;
    expect(expectRequest(parse(nested(''))).metadata).toBeDefined();
    const error = expectError(parse(nested('{"__proto__": 1}')));
    expect(error.code).toBe('forbidden_key');
    expect(error.field).toBe(`metadata.deep${'[0]'.repeat(depth)}.__proto__`);
  });
});

/** The kind of careless deep merge that turns a "__proto__" key into a polluted Object.prototype. */
function naiveDeepMerge(target: Record<string, unknown>, source: unknown): void {
  if (source === null || typeof source !== 'object') return;
  for (const key in source as Record<string, unknown>) {
    const value = (source as Record<string, unknown>)[key];
    if (value !== null && typeof value === 'object') {
      if (target[key] === null || typeof target[key] !== 'object') target[key] = {};
      naiveDeepMerge(target[key] as Record<string, unknown>, value);
    } else {
      target[key] = value;
    }
  }
}

const isPolluted = () => ({} as Record<string, unknown>).polluted !== undefined;

describe('prototype pollution', () => {
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>).polluted;
  });

  test.each([
    ['{"prompt": "x", "__proto__": {"polluted": true}}', '__proto__'],
    ['{"prompt": "x", "constructor": {"prototype": {"polluted": true}}}', 'constructor'],
    ['{"prompt": "x", "metadata": {"a": {"b": [{"__proto__": {"polluted": true}}]}}}', 'metadata.a.b[0].__proto__'],
    ['{"messages": [{"role": "user", "content": "x", "__proto__": {"polluted": true}}]}', 'messages[0].__proto__'],
    ['{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {"prototype": 1, "messages": []}}', 'body.prototype'],
  ])('%s → forbidden_key at %s, and nothing downstream can be polluted', async (text, field) => {
    const error = expectError(parseRequestLine(text, 2, 1));
    expect([error.code, error.field]).toEqual(['forbidden_key', field]);
    const result = await readRequests(Buffer.from(`${text}\n{"prompt": "ok", "metadata": {"m": {"n": 1}}}\n`));
    expect(result.errors.map((e) => e.code)).toEqual(['forbidden_key']);
    naiveDeepMerge({}, result);
    expect(isPolluted()).toBe(false);
  });

  test('negative control: the same careless merge of the raw line does pollute Object.prototype', () => {
    naiveDeepMerge({}, JSON.parse('{"prompt": "x", "metadata": {"a": {"b": [{"__proto__": {"polluted": true}}]}}}'));
    expect(isPolluted()).toBe(true);
  });
});

describe('OpenAI Batch lines', () => {
  const line = (body: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    custom_id: 'req-1',
    method: 'POST',
    url: '/v1/chat/completions',
    body,
    ...extra,
  });
  const user = [{ role: 'user', content: 'Hello' }];

  test('maps custom_id to id and body parameters to RequestParams', () => {
    const parsed = parse(
      line({
        model: 'gpt-4o-mini', messages: user, max_completion_tokens: 30, temperature: 0.5, top_p: 0.9, n: 2, seed: 11,
        stop: 'END', presence_penalty: 0.1, frequency_penalty: -0.1, logprobs: true, top_logprobs: 4,
        top_k: 5, min_p: 0.05, repetition_penalty: 1.1, min_tokens: 2, stop_token_ids: [7], ignore_eos: true,
        include_stop_str_in_output: true, chat_template_kwargs: { enable_thinking: false }, metadata: { k: 'v' },
        user: 'u-1', stream: false,
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      format: 'openai',
      implicitId: false,
      request: {
        id: 'req-1', customId: 'req-1', index: 3, line: 7, kind: 'messages', messages: user, metadata: { k: 'v' },
        params: {
          max_tokens: 30, temperature: 0.5, top_p: 0.9, n: 2, seed: 11, stop: ['END'], presence_penalty: 0.1,
          frequency_penalty: -0.1, logprobs: 4, top_k: 5, min_p: 0.05, repetition_penalty: 1.1, min_tokens: 2,
          stop_token_ids: [7], ignore_eos: true, include_stop_str_in_output: true, enable_thinking: false,
        },
      },
    });
  });

  test('logprobs true alone asks for the chosen token only; false asks for nothing', () => {
    expect(expectRequest(parse(line({ messages: user, logprobs: true }))).params).toEqual({ logprobs: 0 });
    expect(expectRequest(parse(line({ messages: user, logprobs: false }))).params).toEqual({});
    expect(expectRequest(parse(line({ messages: user, max_tokens: 9, enable_thinking: true }))).params).toEqual({
      max_tokens: 9,
      enable_thinking: true,
    });
  });

  test.each([
    [line({ messages: user }, { method: 'GET' }), 'invalid_field', 'method'],
    [line({ messages: user }, { url: '/v1/completions' }), 'invalid_field', 'url'],
    [line({ messages: user }, { custom_id: '' }), 'invalid_field', 'custom_id'],
    [line({ messages: user }, { priority: 1 }), 'unknown_field', 'priority'],
    [{ custom_id: 'x', url: '/v1/chat/completions', body: { messages: user } }, 'missing_field', 'method'],
    [{ custom_id: 'x', method: 'POST', url: '/v1/chat/completions' }, 'missing_field', 'body'],
    [line([] as unknown as Record<string, unknown>), 'invalid_field', 'body'],
    [line({}), 'missing_prompt', 'body.messages'],
    [line({ messages: user, tools: [] }), 'unsupported_field', 'body.tools'],
    [line({ messages: user, stream: true }), 'unsupported_field', 'body.stream'],
    [line({ messages: user, top_logprobs: 2, logprobs: false }), 'conflicting_fields', 'body.top_logprobs'],
    [line({ messages: user, top_logprobs: 21, logprobs: true }), 'invalid_field', 'body.top_logprobs'],
    [line({ messages: user, logprobs: 3 }), 'invalid_field', 'body.logprobs'],
    [line({ messages: user, max_tokens: 1, max_completion_tokens: 2 }), 'conflicting_fields', 'body.max_completion_tokens'],
    [line({ messages: user, temperature: -1 }), 'invalid_field', 'body.temperature'],
    [line({ messages: user, chat_template_kwargs: { add_generation_prompt: false } }), 'unknown_field', 'body.chat_template_kwargs.add_generation_prompt'],
    [line({ messages: user, enable_thinking: true, chat_template_kwargs: { enable_thinking: false } }), 'conflicting_fields', 'body.chat_template_kwargs.enable_thinking'],
    [line({ messages: [{ role: 'developer', content: 'x' }] }), 'unknown_role', 'body.messages[0].role'],
    [line({ messages: user, max_tokens: 5, min_tokens: 6 }), 'conflicting_fields', 'body.min_tokens'],
    [line({ messages: user, temprature: 1 }), 'unknown_field', 'body.temprature'],
  ])('%j → %s at %s', (object, code, field) => {
    const error = expectError(parse(object));
    expect([error.code, error.field]).toEqual([code, field]);
    expect(error.message.startsWith(`line 7: `)).toBe(true);
    expect(error.message).toContain(`"${field}"`);
  });

  test('a misspelt body field gets a suggestion with its full path', () => {
    expect(expectError(parse(line({ messages: user, temprature: 1 }))).message).toBe(
      'line 7: unknown field "body.temprature"; did you mean "body.temperature"?',
    );
  });

  test('an error on an OpenAI line is labelled with its custom_id', () => {
    expect(expectError(parse(line({ messages: user, n: 0 }))).id).toBe('req-1');
  });
});
