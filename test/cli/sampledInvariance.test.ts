import { sampleSeedFromRequestSeed } from '../../src/sample/seededRng';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel } from '../helpers/testModels';

let modelDir: string;

beforeAll(async () => {
  modelDir = await buildTestModel('sampled');
});

/** Mixed per-request settings: sampled and greedy, penalties, stop strings, own seeds and run-seeded ones. */
const LINES = [
  { id: 'a', prompt: 'Once upon a time', temperature: 1.0, top_k: 50, max_tokens: 12 },
  { id: 'b', messages: [{ role: 'user', content: 'Tell me a story about a robot.' }], temperature: 0.7, top_p: 0.9, seed: 5, max_tokens: 10 },
  { id: 'c', messages: [{ role: 'user', content: '你好' }], temperature: 0, max_tokens: 9 },
  { id: 'd', prompt: 'The weather today is', temperature: 1.3, min_p: 0.05, repetition_penalty: 1.2, max_tokens: 14 },
  { id: 'e', messages: [{ role: 'user', content: 'List fruits: ' + 'apple, banana, cherry, '.repeat(8) }], presence_penalty: 0.5, frequency_penalty: 0.3, max_tokens: 11 },
  { id: 'f', prompt: 'x', temperature: 0.9, max_tokens: 5, logprobs: 2 },
  { id: 'g', messages: [{ role: 'user', content: 'Count: one two three' }], temperature: 1.0, stop: ['e'], max_tokens: 16 },
  { id: 'h', prompt: 'Emoji 🙂 time', top_k: 5, temperature: 2.0, max_tokens: 8, min_tokens: 8 },
];

function jsonl(lines: object[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

function byId(stdout: string): Record<string, unknown> {
  return Object.fromEntries(
    parseJsonl(stdout).map((record) => {
      const { index: _index, ...rest } = record;
      return [String(record.id), rest];
    }),
  );
}

test('sampled output is identical across batch sizes, byte for byte, and across input orders, per id', () => {
  const input = jsonl(LINES);
  const args = ['-', '-m', modelDir, '--seed', '7', '--token-ids'];
  const solo = runCli([...args, '--batch-size', '1'], { input });
  const batched = runCli([...args], { input });
  const wide = runCli([...args, '--batch-size', '5'], { input });
  expect(solo.status).toBe(0);
  expect(batched.stdout.split('\n').sort()).toEqual(solo.stdout.split('\n').sort());
  expect(wide.stdout.split('\n').sort()).toEqual(solo.stdout.split('\n').sort());
  const shuffled = [LINES[5], LINES[2], LINES[7], LINES[0], LINES[3], LINES[6], LINES[1], LINES[4]];
  const reordered = runCli([...args, '--batch-size', '3'], { input: jsonl(shuffled) });
  expect(byId(reordered.stdout)).toEqual(byId(solo.stdout));
  // Rerunning gives the same bytes (in completion order, which is deterministic too).
  expect(runCli([...args], { input }).stdout).toBe(batched.stdout);
  // And the seed matters: another run seed changes the sampled requests without their own seed.
  const other = byId(runCli(['-', '-m', modelDir, '--seed', '8', '--token-ids'], { input }).stdout);
  const base = byId(solo.stdout);
  expect((other.a as { completion_token_ids: number[] }).completion_token_ids).not.toEqual((base.a as { completion_token_ids: number[] }).completion_token_ids);
  const tokens = (record: unknown) => (record as { completion_token_ids: number[] }).completion_token_ids;
  expect(tokens(other.b)).toEqual(tokens(base.b)); // b has its own seed
  expect(tokens(other.c)).toEqual(tokens(base.c)); // c is greedy
});

test('per-request settings are honoured: stop strings cut the text, min_tokens, logprobs', () => {
  const out = byId(runCli(['-', '-m', modelDir, '--seed', '7', '--token-ids'], { input: jsonl(LINES) }).stdout) as Record<string, Record<string, unknown>>;
  expect((out.h.completion_token_ids as number[]).length).toBe(8);
  const f = out.f.logprobs as { token_id: number; logprob: number; top_logprobs: unknown[] }[];
  expect(f).toHaveLength((out.f.completion_token_ids as number[]).length);
  for (const entry of f) {
    expect(entry.logprob).toBeLessThanOrEqual(0);
    expect(entry.top_logprobs).toHaveLength(2);
  }
  // g's seeded sample spells an "e" early: it stops there, reports the stop string, and the text is cut before it.
  expect(out.g.finish_reason).toBe('stop');
  expect(out.g.stop).toBe('e');
  expect(String(out.g.text)).not.toContain('e');
});

test('n=3 gives three different samples, each equal to a separate run with the derived seed', () => {
  const request = { id: 'n3', prompt: 'In a distant galaxy', temperature: 1.0, max_tokens: 10, seed: 11, n: 3 };
  const together = parseJsonl(runCli(['-', '-m', modelDir, '--token-ids'], { input: jsonl([request]) }).stdout)[0];
  const choices = together.choices as { completion_token_ids: number[] }[];
  expect(choices).toHaveLength(3);
  expect(new Set(choices.map((c) => c.completion_token_ids.join(','))).size).toBe(3);
  const separate = [0, 1, 2].map((i) => ({ ...request, id: `s${i}`, n: 1, seed: sampleSeedFromRequestSeed(11, i) }));
  const runs = byId(runCli(['-', '-m', modelDir, '--token-ids'], { input: jsonl(separate) }).stdout) as Record<string, { completion_token_ids: number[] }>;
  choices.forEach((choice, i) => expect(choice.completion_token_ids).toEqual(runs[`s${i}`].completion_token_ids));
});

test('OpenAI Batch format round trip: custom_id kept, same completions as the equivalent qwen-gen lines', () => {
  const openai = LINES.filter((l) => 'messages' in l).map((l) => {
    const { id, messages, ...params } = l as { id: string; messages: unknown[] } & Record<string, unknown>;
    return { custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'qwen3', messages, ...params } };
  });
  const result = runCli(['-', '-m', modelDir, '--seed', '7'], { input: jsonl(openai) });
  expect(result.status).toBe(0);
  const lines = parseJsonl(result.stdout) as { custom_id: string; error: unknown; response: { status_code: number; body: { object: string; choices: { message: { content: string } }[] } } }[];
  expect(lines.map((l) => l.custom_id).sort()).toEqual(openai.map((l) => l.custom_id).sort());
  const native = byId(runCli(['-', '-m', modelDir, '--seed', '7'], { input: jsonl(LINES.filter((l) => 'messages' in l)) }).stdout) as Record<string, { text: string }>;
  for (const line of lines) {
    expect(line.error).toBeNull();
    expect(line.response.status_code).toBe(200);
    expect(line.response.body.object).toBe('chat.completion');
    expect(line.response.body.choices[0].message.content).toBe(native[line.custom_id].text);
  }
});

test('structured outputs, sampled: byte-identical at batch sizes 1 and 8 and in shuffled order; every ended output valid', () => {
  const schema = { type: 'object', properties: { tag: { enum: ['a', 'b', 'c'] }, n: { type: 'integer', minimum: 0, maximum: 99 } }, required: ['tag', 'n'] };
  const constrained = [
    { id: 'j1', prompt: 'Once upon a time', temperature: 1.0, top_k: 50, guided_json: schema, max_tokens: 30 },
    { id: 'j2', messages: [{ role: 'user', content: 'JSON please' }], temperature: 0.8, top_p: 0.9, seed: 4, response_format: { type: 'json_schema', json_schema: { name: 't', schema } }, max_tokens: 30 },
    { id: 'r1', prompt: 'Date:', temperature: 1.3, min_p: 0.05, repetition_penalty: 1.2, guided_regex: '[0-9]{4}-[0-9]{2}', max_tokens: 20 },
    { id: 'r2', prompt: 'Word', temperature: 1.0, presence_penalty: 0.5, frequency_penalty: 0.3, guided_regex: '[a-z]{2,6}', max_tokens: 20 },
    { id: 'c1', messages: [{ role: 'user', content: 'Pick one' }], temperature: 2.0, top_k: 5, guided_choice: ['left', 'right', 'up ↑'], max_tokens: 10, logprobs: 2 },
    { id: 'c2', prompt: 'x', temperature: 1.0, guided_choice: ['yes', 'no'], n: 3, seed: 9, max_tokens: 10 },
    { id: 'g1', prompt: 'Tuple', temperature: 1.0, guided_grammar: 'root ::= "(" [1-9] ("," [1-9])? ")"', max_tokens: 20, min_tokens: 3 },
    { id: 'p1', prompt: 'Plain', temperature: 1.0, max_tokens: 8 },
  ];
  const input = jsonl(constrained);
  const args = ['-', '-m', modelDir, '--seed', '7', '--token-ids'];
  const solo = runCli([...args, '--batch-size', '1'], { input });
  expect(solo.status).toBe(0);
  const batched = runCli([...args, '--batch-size', '8'], { input });
  expect(batched.stdout.split('\n').sort()).toEqual(solo.stdout.split('\n').sort());
  const shuffled = [5, 2, 7, 0, 3, 6, 1, 4].map((i) => constrained[i]);
  expect(byId(runCli([...args, '--batch-size', '3'], { input: jsonl(shuffled) }).stdout)).toEqual(byId(solo.stdout));
  const out = byId(solo.stdout) as Record<string, { text: string; finish_reason: string; choices?: { text: string; finish_reason: string }[] }>;
  const ended = (id: string) => out[id].finish_reason === 'stop';
  for (const id of ['j1', 'j2']) if (ended(id)) expect(Object.keys(JSON.parse(out[id].text)).sort()).toEqual(['n', 'tag']);
  if (ended('r1')) expect(out.r1.text).toMatch(/^[0-9]{4}-[0-9]{2}$/);
  if (ended('r2')) expect(out.r2.text).toMatch(/^[a-z]{2,6}$/);
  if (ended('c1')) expect(['left', 'right', 'up ↑']).toContain(out.c1.text);
  for (const choice of out.c2.choices!) expect(['yes', 'no']).toContain(choice.text);
  if (ended('g1')) expect(out.g1.text).toMatch(/^\([1-9](,[1-9])?\)$/);
  expect(['j1', 'j2', 'r1', 'r2', 'c1', 'g1'].filter(ended).length).toBeGreaterThanOrEqual(5);
});
