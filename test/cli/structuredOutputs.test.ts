import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { onnx } from 'onnx-proto';
import { checkJsonSchema } from '../../src/diagnostics/jsonSchemaCheck';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Structured outputs through the CLI on tiny random models: their text is gibberish, so only the constraint can make it
// valid. Validity is checked independently: JSON by ajv (a real JSON Schema validator), regexes by JavaScript's RegExp.

const EOS = [151645, 151643];
const SCHEMAS = {
  person: {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 6 }, age: { type: 'integer', minimum: 0, maximum: 99 }, member: { type: 'boolean' } },
    required: ['name', 'age', 'member'],
    additionalProperties: false,
  },
  color: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, shade: { type: 'integer', minimum: 1, maximum: 9 } }, required: ['color', 'shade'] },
  list: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 50 }, minItems: 1, maxItems: 3 },
  flag: { type: 'boolean' },
};
const REGEXES = ['[0-9]{4}-[0-9]{2}-[0-9]{2}', '[a-z]{3,6}', '(cat|dog)s?', '[A-Z][a-z]{1,5} [0-9]{1,3}'];
const CHOICES = ['positive', 'negative', 'neutral ☺'];
const GRAMMAR = 'root ::= "(" num ("," num)? ("," num)? ")"\nnum ::= [1-9] [0-9]?';
const GRAMMAR_REGEX = /^\([1-9][0-9]?(,[1-9][0-9]?){0,2}\)$/;
const PROMPTS = ['Once upon a time', 'Describe a person.', '你好，世界', 'List three numbers', 'The weather today is', 'Emoji 🙂 time', 'x', 'Write JSON'];

type Line = Record<string, unknown> & { id: string };

/** Four kinds per prompt: a schema, a regex, a choice (a chat request) and a grammar. */
function constrainedLines(extra: Record<string, unknown> = {}): Line[] {
  return PROMPTS.flatMap((prompt, i) => [
    { id: `s${i}`, prompt, guided_json: Object.values(SCHEMAS)[i % 4], max_tokens: 48, ...extra },
    { id: `r${i}`, prompt, guided_regex: REGEXES[i % 4], max_tokens: 24, ...extra },
    { id: `c${i}`, messages: [{ role: 'user', content: prompt }], enable_thinking: false, guided_choice: CHOICES, max_tokens: 16, ...extra },
    { id: `g${i}`, prompt, guided_grammar: GRAMMAR, max_tokens: 24, ...extra },
  ]);
}

/** The same requests without their constraint (the negative control). */
function unconstrained(lines: Line[]): Line[] {
  return lines.map(({ guided_json: _j, guided_regex: _r, guided_choice: _c, guided_grammar: _g, response_format: _f, ...rest }) => rest as Line);
}

const ajv = new Ajv();

/** Whether `text` is valid for the constraint of `line` (checked independently of qwen-gen). */
function isValid(line: Line, text: string): boolean {
  if (line.guided_json) {
    try {
      return ajv.validate(line.guided_json as object, JSON.parse(text)) === true;
    } catch {
      return false;
    }
  }
  if (line.guided_regex) return new RegExp(`^(?:${line.guided_regex as string})$`, 'u').test(text);
  if (line.guided_choice) return (line.guided_choice as string[]).includes(text);
  if (line.guided_grammar) return GRAMMAR_REGEX.test(text);
  throw new Error(`line ${line.id} has no constraint`);
}

function jsonl(lines: object[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

type Record_ = { id: string; text: string; finish_reason: string; completion_token_ids: number[]; reasoning?: string | null; error?: { code: string; message: string; line: number } };

function byId(stdout: string): Map<string, Record_> {
  return new Map(parseJsonl(stdout).map((r) => [String(r.id), r as unknown as Record_]));
}

let gqaModel: string;
let plainModel: string;
let work: string;

beforeAll(async () => {
  gqaModel = await buildTestModel('structured-gqa', { attention: 'gqa' });
  plainModel = await buildTestModel('structured');
  work = tempDir('structured');
});

test.each([
  ['greedy', ['--greedy']],
  ['seeded sampling', ['--temperature', '1', '--top-k', '40', '--seed', '5']],
])('%s: every "stop" output is valid for its constraint; most rows finish; without the constraints none is valid', (_name, flags) => {
  const lines = constrainedLines();
  const run = runCli(['-', '-m', gqaModel, '--token-ids', ...flags], { input: jsonl(lines) });
  expect(run.status).toBe(0);
  const records = byId(run.stdout);
  expect(records.size).toBe(lines.length);
  let stopped = 0;
  for (const line of lines) {
    const record = records.get(line.id)!;
    if (record.finish_reason !== 'stop') continue;
    stopped++;
    expect({ id: line.id, text: record.text, valid: isValid(line, record.text) }).toEqual({ id: line.id, text: record.text, valid: true });
    // The grammar ended on an eos it allowed: generated as the last token, not part of the text.
    expect(EOS).toContain(record.completion_token_ids[record.completion_token_ids.length - 1]);
  }
  expect(stopped).toBeGreaterThanOrEqual(24);
  // Negative control: the same prompts and settings without the constraints give gibberish, never valid.
  const free = byId(runCli(['-', '-m', gqaModel, ...flags], { input: jsonl(unconstrained(lines)) }).stdout);
  expect(lines.filter((line) => isValid(line, free.get(line.id)!.text)).map((l) => l.id)).toEqual([]);
});

test('batched equals solo with constraints (greedy, GroupQueryAttention graph), byte for byte, in any order', () => {
  const lines = constrainedLines();
  const args = ['-', '-m', gqaModel, '--greedy', '--token-ids'];
  const solo = runCli([...args, '-b', '1'], { input: jsonl(lines) });
  const batched = runCli([...args, '-b', '8'], { input: jsonl(lines) });
  const reversed = runCli([...args, '-b', '5'], { input: jsonl([...lines].reverse()) });
  expect(solo.status).toBe(0);
  // Lines without their input index (the reversed input moves it), sorted.
  const strip = (stdout: string) => parseJsonl(stdout).map(({ index: _index, ...rest }) => JSON.stringify(rest)).sort();
  expect(strip(batched.stdout)).toEqual(strip(solo.stdout));
  expect(strip(reversed.stdout)).toEqual(strip(solo.stdout));
});

test('bad constraints are per-line errors naming the line and the field; the other lines run', () => {
  const strictSchema = { type: 'object', properties: { n: { type: 'integer', multipleOf: 5 } }, required: ['n'] };
  const input = [
    { id: 'ok', prompt: 'Hello', guided_choice: ['yes', 'no'] },
    { id: 'schema', prompt: 'Hello', guided_json: { type: 'objec' } },
    { id: 'strict', messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_schema', json_schema: { name: 'n', schema: strictSchema, strict: true } } },
    { id: 'regex', prompt: 'Hello', guided_regex: '([0-9]+' },
    { id: 'choice', prompt: 'Hello', guided_choice: [] },
    { id: 'grammar', prompt: 'Hello', guided_grammar: 'root ::= "a" |' },
    { id: 'two', prompt: 'Hello', guided_regex: 'a', guided_json: { type: 'string' } },
    // The end of a grammar ends its row even with ignore_eos, and min_tokens cannot push it past that end.
    { id: 'eos', prompt: 'Hello', guided_choice: ['yes', 'no'], ignore_eos: true, min_tokens: 6 },
  ];
  const run = runCli(['-', '-m', plainModel, '--greedy', '--max-tokens', '8'], { input: jsonl(input) });
  expect(run.status).toBe(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  const records = byId(run.stdout);
  expect(records.get('ok')).toMatchObject({ finish_reason: 'stop' });
  expect(['yes', 'no']).toContain(records.get('ok')!.text);
  expect(records.get('eos')).toMatchObject({ finish_reason: 'stop' });
  expect(['yes', 'no']).toContain(records.get('eos')!.text);
  const expected: [string, number, string, RegExp][] = [
    ['schema', 2, 'guided_json', /not a JSON Schema .*xgrammar.*Unsupported type "objec"/],
    ['strict', 3, 'response_format.json_schema.schema.properties.n.multipleOf', /"multipleOf".*strict/],
    ['regex', 4, 'guided_regex', /not a regular expression .*xgrammar/],
    ['choice', 5, 'guided_choice', /must be a non-empty array of non-empty strings/],
    ['grammar', 6, 'guided_grammar', /not an EBNF grammar .*EBNF parser error/],
    ['two', 7, 'guided_regex', /fields "guided_json" and "guided_regex" are both given/],
  ];
  for (const [id, line, field, message] of expected) {
    const error = records.get(id)!.error!;
    expect(error.message).toMatch(new RegExp(`^line ${line}: fields? .*"${field.replace(/[.[\]]/g, '\\$&')}"`));
    expect(error.message).toMatch(message);
    expect(error.line).toBe(line);
  }
  // Without strict, the keyword xgrammar cannot enforce is accepted (and ignored).
  const lenient = { ...input[2], response_format: { type: 'json_schema', json_schema: { name: 'n', schema: strictSchema } } };
  expect(runCli(['-', '-m', plainModel, '--greedy', '--max-tokens', '8'], { input: jsonl([lenient]) }).stdout).not.toContain('"error"');
});

test('run-wide defaults: --json-schema FILE, --choice (repeatable), --regex, --grammar FILE; a line overrides; "text" opts out', () => {
  const schemaFile = path.join(work, 'color.json');
  fs.writeFileSync(schemaFile, JSON.stringify(SCHEMAS.color));
  const grammarFile = path.join(work, 'tuple.ebnf');
  fs.writeFileSync(grammarFile, GRAMMAR);
  const input = jsonl([
    { id: 'default', prompt: 'Once upon a time' },
    { id: 'own', prompt: 'Once upon a time', guided_regex: 'dogs?' },
    { id: 'none', prompt: 'Once upon a time', response_format: { type: 'text' } },
  ]);
  const base = ['-', '-m', plainModel, '--greedy', '--max-tokens', '40'];
  const bySchema = byId(runCli([...base, '--json-schema', schemaFile], { input }).stdout);
  expect(ajv.validate(SCHEMAS.color, JSON.parse(bySchema.get('default')!.text))).toBe(true);
  expect(bySchema.get('own')!.text).toMatch(/^dogs?$/);
  expect(() => JSON.parse(bySchema.get('none')!.text)).toThrow(); // unconstrained: gibberish
  expect(['yes', 'no, thanks']).toContain(byId(runCli([...base, '--choice', 'yes', '--choice', 'no, thanks'], { input }).stdout).get('default')!.text);
  expect(byId(runCli([...base, '--regex', '[0-9]{3}'], { input }).stdout).get('default')!.text).toMatch(/^[0-9]{3}$/);
  expect(byId(runCli([...base, '--grammar', grammarFile], { input }).stdout).get('default')!.text).toMatch(GRAMMAR_REGEX);
});

test('bad run-wide constraints are usage errors (exit 2) naming the flag, before the model loads', () => {
  const bad = path.join(work, 'bad-schema.json');
  fs.writeFileSync(bad, '{"type": "objec"}');
  const notJson = path.join(work, 'not-json.json');
  fs.writeFileSync(notJson, '{"type": ');
  const badGrammar = path.join(work, 'bad.ebnf');
  fs.writeFileSync(badGrammar, 'root ::= (');
  // A model that does not exist: the flag is reported first, so it was checked before any model loading.
  const cases: [string[], RegExp][] = [
    [['--json-schema', path.join(work, 'missing.json')], /--json-schema: file ".*missing\.json" does not exist/],
    [['--json-schema', notJson], /--json-schema: file .* is not valid JSON/],
    [['--json-schema', bad], /--json-schema is not a JSON Schema .*Unsupported type "objec"/],
    [['--regex', '[a-'], /--regex is not a regular expression .*Unclosed/],
    [['--grammar', badGrammar], /--grammar is not an EBNF grammar/],
    [['--choice', ''], /--choice must be a non-empty string/],
    [['--json', '--regex', 'a'], /'--json' cannot be used with option '--regex/],
  ];
  for (const [flags, message] of cases) {
    const run = runCli(['-', '-m', path.join(work, 'no-such-model'), ...flags], { input: '{"prompt":"x"}\n' });
    expect({ flags, status: run.status }).toEqual({ flags, status: 2 });
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/no-such-model/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }
});

test('OpenAI Batch lines: response_format json_schema and json_object; the content validates', () => {
  const body = (i: number, response_format: unknown) => ({ model: 'qwen3', messages: [{ role: 'user', content: `Item ${i}` }], max_tokens: 40, response_format });
  const lines = [
    ...[0, 1, 2].map((i) => ({ custom_id: `js${i}`, method: 'POST', url: '/v1/chat/completions', body: body(i, { type: 'json_schema', json_schema: { name: 'color', schema: SCHEMAS.color, strict: true } }) })),
    { custom_id: 'obj', method: 'POST', url: '/v1/chat/completions', body: { ...body(9, { type: 'json_object' }), max_tokens: 200 } },
  ];
  const run = runCli(['-', '-m', plainModel, '--greedy'], { input: jsonl(lines) });
  const out = parseJsonl(run.stdout) as { custom_id: string; response: { body: { choices: { message: { content: string }; finish_reason: string }[] } } }[];
  expect(out).toHaveLength(4);
  for (const line of out) {
    const choice = line.response.body.choices[0];
    if (line.custom_id === 'obj') {
      if (choice.finish_reason === 'stop') expect(typeof JSON.parse(choice.message.content)).toBe('object');
      continue;
    }
    expect(choice.finish_reason).toBe('stop');
    expect(ajv.validate(SCHEMAS.color, JSON.parse(choice.message.content))).toBe(true);
  }
});

test('JSON whitespace is bounded by default (one line, json.dumps separators); json_any_whitespace lifts the bound', () => {
  const lines = PROMPTS.map((prompt, i) => ({ id: `w${i}`, prompt, guided_json: SCHEMAS.color, max_tokens: 40 }));
  const dumps = (value: unknown) => JSON.stringify(value).replace(/,"/g, ', "').replace(/":/g, '": ');
  const bounded = byId(runCli(['-', '-m', plainModel, '--temperature', '1', '--seed', '2'], { input: jsonl(lines) }).stdout);
  for (const line of lines) {
    const text = bounded.get(line.id)!.text;
    expect(text).toBe(dumps(JSON.parse(text)));
  }
  // Negative control: with any whitespace allowed, the same sampled requests produce whitespace the bound forbids.
  const free = byId(runCli(['-', '-m', plainModel, '--temperature', '1', '--seed', '2', '--json-any-whitespace'], { input: jsonl(lines) }).stdout);
  const loose = lines.filter((line) => {
    const record = free.get(line.id)!;
    return record.finish_reason !== 'stop' || record.text !== dumps(JSON.parse(record.text));
  });
  expect(loose.length).toBeGreaterThan(0);
});

test('report: requests by kind, compile and mask times; structured_output_truncated names the ids cut at max_tokens', () => {
  const lines = [
    ...constrainedLines().slice(0, 8),
    { id: 'cut', prompt: 'Hello there', guided_json: SCHEMAS.person, max_tokens: 3 },
    { id: 'free', prompt: 'Hello there', max_tokens: 3 },
  ];
  const report = path.join(work, 'report.json');
  const run = runCli(['-', '-m', plainModel, '--greedy', '--report', report], { input: jsonl(lines) });
  expect(run.status).toBe(0);
  const json = JSON.parse(fs.readFileSync(report, 'utf8'));
  // The report follows its schema with the structured-output figures in it (a figure missing is caught: control).
  const schema = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../docs/report-schema.json'), 'utf8'));
  expect(checkJsonSchema(json, schema)).toEqual([]);
  const { wait_ms: _wait, ...withoutWait } = json.figures.structured_output;
  expect(checkJsonSchema({ ...json, figures: { ...json.figures, structured_output: withoutWait } }, schema)).not.toEqual([]);
  const figures = json.figures.structured_output;
  expect(figures.requests).toEqual({ json_schema: 3, json_object: 0, regex: 2, choice: 2, grammar: 2 });
  expect(figures.grammars_compiled).toBe(6); // "cut" shares the person schema's grammar: compiled once
  expect(figures.compile_ms).toBeGreaterThan(0);
  expect(figures.masked_tokens).toBeGreaterThan(20);
  expect(figures.mask_ms_per_step).toBeGreaterThan(0);
  const truncated = json.findings.find((f: { code: string }) => f.code === 'structured_output_truncated');
  expect(truncated).toMatchObject({ severity: 'warning', evidence: { request_ids: ['cut'] } });
  expect(truncated.action).toMatch(/raise max_tokens/);
  expect(run.stderr).toContain('structured_output_truncated');
  // Negative control: the same run with room to finish has no such finding.
  const roomyReport = path.join(work, 'report-roomy.json');
  const roomy = runCli(['-', '-m', plainModel, '--greedy', '--report', roomyReport], { input: jsonl(lines.filter((l) => l.id !== 'cut')) });
  expect(roomy.status).toBe(0);
  expect(JSON.parse(fs.readFileSync(roomyReport, 'utf8')).findings.map((f: { code: string }) => f.code)).not.toContain('structured_output_truncated');
});

test('--dry-run validates and compiles constraints against the tokenizer without loading the model', () => {
  const broken = path.join(work, 'broken-model');
  fs.cpSync(plainModel, broken, { recursive: true });
  for (const file of fs.readdirSync(path.join(broken, 'onnx'))) if (file !== 'model.onnx') fs.rmSync(path.join(broken, 'onnx', file));
  const onnxPath = path.join(broken, 'onnx', 'model.onnx');
  const model = onnx.ModelProto.decode(fs.readFileSync(onnxPath));
  model.graph!.node!.find((n) => n.opType === 'Mul')!.opType = 'NoSuchOperator';
  fs.writeFileSync(onnxPath, onnx.ModelProto.encode(model).finish());
  const input = jsonl([
    { id: 'a', prompt: 'x', guided_json: SCHEMAS.person },
    { id: 'b', prompt: 'x', guided_regex: '[a-' },
    { id: 'c', prompt: 'x', guided_choice: ['y', 'n'] },
  ]);
  const dry = runCli(['-', '-m', broken, '--dry-run'], { input });
  expect(dry.status).toBe(1);
  const lines = byId(dry.stdout);
  expect(lines.get('a')).toMatchObject({ prompt_tokens: 1 });
  expect(lines.get('b')!.error).toMatchObject({ code: 'invalid_field', message: expect.stringMatching(/^line 2: field "guided_regex"/) });
  expect(dry.stderr).toMatch(/structured outputs: 2 request\(s\) constrained \(json_schema 1, choice 1\); 2 grammar\(s\) compiled in \d+ ms/);
});

test('Qwen3 thinking: the reasoning stays free text, the answer after </think> follows the constraint', async () => {
  // A stand-in for a thinking model: the tiny model with its <think> and </think> logits raised.
  const thinker = await buildTestModel('structured-thinker', { logitBias: { 151667: 4, 151668: 4 } });
  const lines = PROMPTS.map((content, i) => ({
    id: `t${i}`, messages: [{ role: 'user', content }], guided_json: SCHEMAS.color, max_tokens: 60, temperature: 1, seed: i,
  }));
  const run = byId(runCli(['-', '-m', thinker, '--token-ids'], { input: jsonl(lines) }).stdout);
  let thought = 0;
  for (const line of lines) {
    const record = run.get(line.id)!;
    if (record.finish_reason !== 'stop') continue;
    expect(ajv.validate(SCHEMAS.color, JSON.parse(record.text))).toBe(true);
    if (record.completion_token_ids[0] !== 151667) continue;
    thought++;
    expect(record.completion_token_ids).toContain(151668);
    expect(typeof record.reasoning).toBe('string');
  }
  expect(thought).toBeGreaterThanOrEqual(4);
  // The reasoning really is free: some of it is text the schema's grammar would never allow at its start.
  const reasonings = [...run.values()].map((r) => r.reasoning ?? '').filter((r) => r.replace(/<think>/g, '').trim() !== '');
  expect(reasonings.length).toBeGreaterThan(0);
  // Negative control: with enable_thinking false the grammar applies from the first token, so <think> is never generated.
  const off = byId(runCli(['-', '-m', thinker, '--token-ids', '--no-thinking'], { input: jsonl(lines) }).stdout);
  for (const record of off.values()) expect(record.completion_token_ids).not.toContain(151667);
});
