import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

let modelDir: string;
let work: string;
let input: string;
const COUNT = 24;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-max-time');
  work = tempDir('cli-max-time');
  input = path.join(work, 'in.jsonl');
  const lines = Array.from({ length: COUNT }, (_, i) => JSON.stringify({ id: `r${i}`, prompt: `Request number ${i}`, max_tokens: 150, ignore_eos: true }));
  fs.writeFileSync(input, lines.join('\n') + '\n');
});

// The deadline falls after a fixed amount of work, not wall time (QWEN_GEN_TEST_MAX_TIME_AFTER_REQUESTS, documented for
// tests): the stop lands mid-run on any machine, so the lines before it and the rest after --resume are both required.
const AFTER_REQUESTS = 5;
const byWork = { QWEN_GEN_TEST_MAX_TIME_AFTER_REQUESTS: String(AFTER_REQUESTS) };

test('--max-time stops with exit 3, keeps complete lines, prints the --resume command; resuming finishes the job', () => {
  const output = path.join(work, 'out.jsonl');
  const first = runCli([input, '-m', modelDir, '--greedy', '-b', '4', '-o', output, '--max-time', '10m'], { env: byWork });
  expect(first.status).toBe(3);
  expect(first.stderr).toMatch(/stopped by --max-time 10m: \d+ request\(s\) not done \(\d+ line\(s\) written by this run are complete\)\. To continue, run:/);
  const command = /To continue, run:\n {2}qwen-gen (.*)\n/.exec(first.stderr)![1];
  expect(command).toContain('--resume');
  const written = parseJsonl(fs.readFileSync(output, 'utf8'));
  // The stop came after AFTER_REQUESTS lines (and the rows finishing in the same step), well before the end.
  expect(written.length).toBeGreaterThanOrEqual(AFTER_REQUESTS);
  expect(written.length).toBeLessThan(COUNT);
  for (const record of written) expect(record).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: 150 } });

  // The next CI job runs the printed command: it generates only the rest, and keeps the lines already written.
  const last = runCli(command.split(' '));
  expect(last.status).toBe(0);
  expect(last.stderr).toMatch(/resum/i);
  const all = parseJsonl(fs.readFileSync(output, 'utf8'));
  expect(all.slice(0, written.length)).toEqual(written);
  expect(all.map((r) => r.id).sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `r${i}`).sort());
  for (const record of all) expect(record).toMatchObject({ finish_reason: 'length', usage: { completion_tokens: 150 } });
});

test('negative control: the same amount of work without --max-time runs to the end (the stop above is --max-time\'s)', () => {
  const output = path.join(work, 'control.jsonl');
  const run = runCli([input, '-m', modelDir, '--greedy', '-b', '4', '-o', output], { env: byWork });
  expect(run.status).toBe(0);
  expect(parseJsonl(fs.readFileSync(output, 'utf8'))).toHaveLength(COUNT);
});

test('--max-time takes durations and refuses other text (exit 2 naming the flag)', () => {
  const bad = runCli([input, '-m', modelDir, '--max-time', 'soon']);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--max-time must be a duration such as 50m, 90s, 1h30m or 600 (seconds), got "soon"');
  // A limit the run stays within changes nothing.
  const quick = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '--max-time', '10m'], { input: '{"prompt":"hi"}\n' });
  expect(quick.status).toBe(0);
  expect(parseJsonl(quick.stdout)).toHaveLength(1);
});
