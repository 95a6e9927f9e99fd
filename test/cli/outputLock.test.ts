import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { outputLines, startCli } from '../helpers/reliability';
import { buildTestModel, tempDir } from '../helpers/testModels';

// One writer per output file: two processes started on the same -o, and a lock left by a writer that died.
const REQUESTS = 40;
let modelDir: string;
let work: string;
let input: string;

beforeAll(async () => {
  modelDir = await buildTestModel('output-lock');
  work = tempDir('output-lock');
  input = path.join(work, 'requests.jsonl');
  const lines = Array.from({ length: REQUESTS }, (_, i) => JSON.stringify({ id: `r${i}`, prompt: `Request ${i}`, max_tokens: 48, ignore_eos: true }));
  fs.writeFileSync(input, lines.join('\n') + '\n');
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('a second writer of the same output fails at once (exit 2) naming the file and the holder; the first finishes alone', async () => {
  const out = path.join(work, 'shared.jsonl');
  const args = [input, '-m', modelDir, '--greedy', '--batch-size', '1', '--resume', '-o', out];
  const first = startCli(args);
  let firstEnded = false;
  void first.exited.then(() => (firstEnded = true));
  await waitFor(() => fs.existsSync(`${out}.lock`) || firstEnded);
  expect(firstEnded).toBe(false);

  const second = runCli(args);
  expect(second.status).toBe(2);
  expect(second.stderr).toContain(`output file ${out} is being written by another process (pid ${first.child.pid}`);
  expect(second.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace

  const { code } = await first.exited;
  expect(code).toBe(0);
  const ids = outputLines(out).map((line) => line.record.id);
  expect(ids).toHaveLength(REQUESTS);
  expect(new Set(ids).size).toBe(REQUESTS);
  expect(fs.existsSync(`${out}.lock`)).toBe(false);
});

test('a lock whose holder is no longer alive is taken over', () => {
  const out = path.join(work, 'stale.jsonl');
  const dead = spawnSync(process.execPath, ['-e', '']);
  fs.writeFileSync(`${out}.lock`, `${dead.pid}\n`);
  const run = runCli([input, '-m', modelDir, '--greedy', '--max-tokens', '2', '-o', out]);
  expect(run.status).toBe(0);
  expect(outputLines(out)).toHaveLength(REQUESTS);
  expect(fs.existsSync(`${out}.lock`)).toBe(false);
});
