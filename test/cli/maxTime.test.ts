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

test('--max-time stops with exit 3, keeps complete lines, prints the --resume command; resuming finishes the job', () => {
  const output = path.join(work, 'out.jsonl');
  const first = runCli([input, '-m', modelDir, '--greedy', '-b', '4', '-o', output, '--max-time', '3s']);
  expect(first.status).toBe(3);
  expect(first.stderr).toMatch(/stopped by --max-time 3s: \d+ request\(s\) not done \(\d+ line\(s\) written by this run are complete\)\. To continue, run:/);
  const command = /To continue, run:\n {2}qwen-gen (.*)\n/.exec(first.stderr)![1];
  expect(command).toContain('--resume');
  const written = parseJsonl(fs.readFileSync(output, 'utf8'));
  expect(written.length).toBeLessThan(COUNT);
  for (const record of written) expect(record.finish_reason).toBe('length');

  // The next CI job runs the printed command (here with a limit the rest fits in).
  const last = runCli(command.replace('--max-time 3s', '--max-time 10m').split(' '));
  expect(last.status).toBe(0);
  expect(last.stderr).toMatch(/resum/i);
  const ids = parseJsonl(fs.readFileSync(output, 'utf8')).map((r) => r.id);
  expect(ids.sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `r${i}`).sort());
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
