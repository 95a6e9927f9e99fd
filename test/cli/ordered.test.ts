import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-ordered');
  work = tempDir('cli-ordered');
});

const isSorted = (values: number[]) => values.every((v, i) => i === 0 || values[i - 1] < v);

test('without --ordered lines come in completion order; with it, in input order (error records in their place)', () => {
  const lines = fs.readFileSync(FIXTURE, 'utf8').trimEnd().split('\n');
  lines.splice(4, 0, '{"id":"bad","prompt":"x","top_p":9}');
  const input = lines.join('\n') + '\n';
  const args = ['-', '-m', modelDir, '--greedy', '--max-tokens', '5'];
  const unordered = parseJsonl(runCli(args, { input }).stdout).map((r) => r.index as number);
  expect([...unordered].sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i));
  expect(isSorted(unordered)).toBe(false); // the engine finishes short prompts first: the flag has something to do
  const ordered = runCli([...args, '--ordered'], { input });
  expect(ordered.status).toBe(1); // the bad line
  const records = parseJsonl(ordered.stdout);
  expect(records.map((r) => r.index)).toEqual(Array.from({ length: 14 }, (_, i) => i));
  expect(records[4]).toMatchObject({ id: 'bad', error: { code: 'invalid_field' } });
});

test('--ordered -o FILE: the file ends in input order, also after a stop and a resume', () => {
  const input = path.join(work, 'in.jsonl');
  // max_tokens shuffled (30 to 120): rows finish out of input order.
  fs.writeFileSync(input, Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `r${i}`, prompt: 'word '.repeat(20 - i), max_tokens: 30 + 10 * ((i * 7) % 10), ignore_eos: true })).join('\n') + '\n');
  const args = [input, '-m', modelDir, '--greedy', '-b', '4', '--max-time', '10m'];
  // The stop falls after a fixed amount of work (6 requests done; see maxTime.test.ts), so both runs stop at the same point.
  const env = { QWEN_GEN_TEST_MAX_TIME_AFTER_REQUESTS: '6' };
  // Without --ordered the file is in completion order, which is not input order: ordering has something to do.
  const unorderedFile = path.join(work, 'unordered.jsonl');
  expect(runCli([...args, '-o', unorderedFile], { env }).status).toBe(3);
  const completion = parseJsonl(fs.readFileSync(unorderedFile, 'utf8')).map((r) => r.index as number);
  expect(completion.length).toBeGreaterThanOrEqual(6);
  expect(isSorted(completion)).toBe(false);

  const output = path.join(work, 'out.jsonl');
  const first = runCli([...args, '--ordered', '-o', output], { env });
  expect(first.status).toBe(3);
  // The same lines, rewritten in input order at the stop.
  const partial = parseJsonl(fs.readFileSync(output, 'utf8')).map((r) => r.index as number);
  expect(partial).toEqual([...completion].sort((a, b) => a - b));
  const resumed = runCli([input, '-m', modelDir, '--greedy', '-b', '4', '--ordered', '-o', output, '--resume']);
  expect(resumed.status).toBe(0);
  expect(parseJsonl(fs.readFileSync(output, 'utf8')).map((r) => r.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
});

test('--ordered with OpenAI Batch lines orders by the line of each custom_id', () => {
  const line = (id: string, words: number) =>
    JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'hi '.repeat(words) }], max_tokens: 3 } });
  const input = [line('c-long', 60), line('c-short', 1), line('c-mid', 20)].join('\n') + '\n';
  const output = path.join(work, 'openai.jsonl');
  expect(runCli(['-', '-m', modelDir, '--greedy', '--ordered', '-o', output], { input }).status).toBe(0);
  expect(parseJsonl(fs.readFileSync(output, 'utf8')).map((r) => r.custom_id)).toEqual(['c-long', 'c-short', 'c-mid']);
  expect(parseJsonl(runCli(['-', '-m', modelDir, '--greedy', '--ordered'], { input }).stdout).map((r) => r.custom_id)).toEqual(['c-long', 'c-short', 'c-mid']);
});
