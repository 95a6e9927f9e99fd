import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel } from '../helpers/testModels';

let modelDir: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-keep-fields');
});

const INPUT = [
  '{"id":"q1","prompt":"What is 6 x 7?","answer":"42","label":{"topic":"math"}}',
  '{"id":"q2","prompt":"x","temprature":0.5,"answer":"?"}',
  '{"id":"q3","prompt":"y","usage":"shadow"}',
].join('\n');

test('by default an extra field is refused, and the message points to --keep-fields (a near-miss names the field)', () => {
  const result = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2'], { input: INPUT });
  expect(result.status).toBe(1);
  const records = new Map(parseJsonl(result.stdout).map((r) => [r.id, r as { error: { code: string; message: string } }]));
  expect(records.get('q1')!.error.message).toBe('line 1: unknown field "answer"; to copy extra fields such as this one to the output record, use --keep-fields');
  expect(records.get('q2')!.error.message).toBe('line 2: unknown field "temprature"; did you mean "temperature"?');
});

test('--keep-fields copies extra top-level fields to the output record; typos and output-field names stay errors', () => {
  const result = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '--keep-fields'], { input: INPUT });
  expect(result.status).toBe(1);
  const records = new Map(parseJsonl(result.stdout).map((r) => [r.id, r]));
  expect(records.get('q1')).toMatchObject({ answer: '42', label: { topic: 'math' }, finish_reason: 'length', usage: { completion_tokens: 2 } });
  expect(records.get('q2')).toMatchObject({ error: { code: 'unknown_field', message: expect.stringContaining('did you mean "temperature"') } });
  expect(records.get('q3')).toMatchObject({ error: { message: 'line 3: field "usage" cannot be kept: the output record has its own "usage"' } });
});

test('--keep-fields on OpenAI Batch lines keeps extra top-level fields beside custom_id', () => {
  const line = JSON.stringify({ custom_id: 'c1', method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }, split: 'test' });
  const result = runCli(['-', '-m', modelDir, '--greedy', '--keep-fields'], { input: line + '\n' });
  expect(result.status).toBe(0);
  expect(parseJsonl(result.stdout)[0]).toMatchObject({ custom_id: 'c1', split: 'test', error: null });
});
