import { parseRequestLine } from '../../src/input/parseRequest';
import { requestSettings, resolveDefaults, constraintOfSettings } from '../../src/job/generationDefaults';
import { constraintKey } from '../../src/params/constraintParams';
import { unenforcedKeyword } from '../../src/params/strictSchema';

function qwenLine(fields: Record<string, unknown>) {
  return parseRequestLine(JSON.stringify({ id: 'r', prompt: 'p', ...fields }), 3, 2);
}

function openaiLine(body: Record<string, unknown>) {
  return parseRequestLine(JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x' }], ...body } }), 4, 3);
}

function errorOf(parsed: ReturnType<typeof parseRequestLine>) {
  if (parsed.ok) throw new Error('expected an error');
  return parsed.error;
}

const STRICT = (schema: unknown) => ({ type: 'json_schema', json_schema: { name: 'x', schema, strict: true } });

test.each<[string, Record<string, unknown>, string, RegExp]>([
  ['an empty choice list', { guided_choice: [] }, 'guided_choice', /must be a non-empty array of non-empty strings, got an empty array/],
  ['an empty choice', { guided_choice: ['a', ''] }, 'guided_choice[1]', /must be a non-empty string/],
  ['an empty regex', { guided_regex: '' }, 'guided_regex', /must be a non-empty string/],
  ['a schema that is not an object', { guided_json: [1] }, 'guided_json', /must be a JSON Schema/],
  ['an unknown response_format type', { response_format: { type: 'xml' } }, 'response_format.type', /must be "text", "json_object" or "json_schema"/],
  ['a json_schema without its schema', { response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, 'response_format.json_schema.schema', /must be a JSON Schema object/],
  ['multipleOf under strict', { response_format: STRICT({ type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } }) }, 'response_format.json_schema.schema.properties.n.multipleOf', /"multipleOf".*xgrammar.*strict/],
  ['an unknown format under strict', { response_format: STRICT({ type: 'string', format: 'credit-card' }) }, 'response_format.json_schema.schema.format', /"credit-card"/],
  ['allOf of two schemas under strict', { response_format: STRICT({ allOf: [{ type: 'object' }, { required: ['a'] }] }) }, 'response_format.json_schema.schema.allOf', /allOf/],
  ['pattern beside minLength under strict', { response_format: STRICT({ type: 'array', items: { type: 'string', pattern: 'a+', minLength: 2 } }) }, 'response_format.json_schema.schema.items.minLength', /pattern/],
  ['two constraints', { guided_regex: 'a', guided_choice: ['a'] }, 'guided_choice', /"guided_regex" and "guided_choice" are both given/],
])('a line with %s is an error naming the line and the field', (_what, fields, field, message) => {
  const error = errorOf(qwenLine(fields));
  expect(error.field).toBe(field);
  expect(error.message).toMatch(/^line 3: /);
  expect(error.message).toContain(`"${field}"`);
  expect(error.message).toMatch(message);
  // The same in an OpenAI Batch body, under body.
  const openai = errorOf(openaiLine(fields));
  expect(openai.field).toBe(`body.${field}`);
  expect(openai.message).toMatch(/^line 4: /);
});

test('the same unenforced keywords are accepted without strict (ignored, as vLLM does), and valid lines parse', () => {
  const schema = { type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } } };
  expect(qwenLine({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }).ok).toBe(true);
  expect(qwenLine({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: false } } }).ok).toBe(true);
  expect(qwenLine({ guided_json: schema }).ok).toBe(true);
  expect(qwenLine({ guided_json: JSON.stringify(schema) })).toMatchObject({ ok: true, request: { params: { guided_json: schema } } });
  expect(openaiLine({ response_format: { type: 'json_object' } }).ok).toBe(true);
});

test('unenforcedKeyword walks subschemas (properties, items, anyOf, $defs) and leaves enforced keywords alone', () => {
  const enforced = {
    type: 'object',
    properties: { a: { type: 'string', format: 'date', description: 'd' }, b: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1 } },
    $defs: { c: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/c' }] } },
    required: ['a'],
    additionalProperties: false,
  };
  expect(unenforcedKeyword(enforced)).toBeNull();
  expect(unenforcedKeyword({ $defs: { c: { anyOf: [{ type: 'null' }, { not: { type: 'string' } }] } } })?.path).toBe('.$defs.c.anyOf[1].not');
  expect(unenforcedKeyword({ type: 'array', items: { uniqueItems: true } })?.path).toBe('.items.uniqueItems');
  expect(unenforcedKeyword({ $ref: 'https://example.com/s.json' })?.path).toBe('.$ref');
});

test('a line\'s own constraint replaces the run-wide one whatever its kind; response_format "text" removes it', () => {
  const defaults = resolveDefaults(null, { guidedRegex: '[0-9]+' });
  expect(constraintOfSettings(requestSettings(defaults, {}))?.constraint).toEqual({ kind: 'regex', pattern: '[0-9]+' });
  expect(constraintOfSettings(requestSettings(defaults, { guided_choice: ['a'] }))?.constraint).toEqual({ kind: 'choice', choices: ['a'] });
  expect(constraintOfSettings(requestSettings(defaults, { response_format: { type: 'text' } }))).toBeNull();
  const json = constraintOfSettings(requestSettings(resolveDefaults(null, { responseFormat: { type: 'json_object' } }), { json_any_whitespace: true }));
  expect(json?.constraint).toEqual({ kind: 'json_object', anyWhitespace: true });
});

test('constraintKey is canonical: key order does not matter, content does', () => {
  const a = constraintKey({ kind: 'json_schema', schema: { type: 'object', properties: { x: { type: 'string' } } }, anyWhitespace: false });
  const b = constraintKey({ anyWhitespace: false, schema: { properties: { x: { type: 'string' } }, type: 'object' }, kind: 'json_schema' });
  expect(a).toBe(b);
  expect(constraintKey({ kind: 'json_schema', schema: { type: 'object' }, anyWhitespace: true })).not.toBe(constraintKey({ kind: 'json_schema', schema: { type: 'object' }, anyWhitespace: false }));
});
