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
  expect(isSorted(unordered)).toBe(false); // the engine finishes short prompts first: the flag has something to do
  const ordered = runCli([...args, '--ordered'], { input });
  expect(ordered.status).toBe(1); // the bad line
  const records = parseJsonl(ordered.stdout);
  expect(records.map((r) => r.index)).toEqual(Array.from({ length: 14 }, (_, i) => i));
  expect(records[4]).toMatchObject({ id: 'bad', error: { code: 'invalid_field' } });
});

test('--ordered -o FILE: the file ends in input order, also after a stop and a resume', () => {
  const input = path.join(work, 'in.jsonl');
  fs.writeFileSync(input, Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `r${i}`, prompt: 'word '.repeat(20 - i), max_tokens: 60 + 5 * i, ignore_eos: true })).join('\n') + '\n');
  const output = path.join(work, 'out.jsonl');
  const first = runCli([input, '-m', modelDir, '--greedy', '-b', '4', '--ordered', '-o', output, '--max-time', '3s']);
  expect([0, 3]).toContain(first.status);
  const partial = parseJsonl(fs.readFileSync(output, 'utf8')).map((r) => r.index as number);
  expect(isSorted(partial)).toBe(true);
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
