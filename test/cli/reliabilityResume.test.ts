import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { linesByIndex, outputLines, seededRandom, shellWords, startCli, waitForLines } from '../helpers/reliability';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Kill and interrupt a real run at seeded points, resume it, and check the result is what one uninterrupted run gives.
const REQUESTS = 40;
let modelDir: string;
let work: string;
let input: string;
let baseline: string[];

const generationArgs = () => [input, '-m', modelDir, '--greedy', '--max-tokens', '16'];

beforeAll(async () => {
  modelDir = await buildTestModel('reliability-resume');
  work = tempDir('reliability-resume');
  input = path.join(work, 'requests.jsonl');
  const lines = Array.from({ length: REQUESTS }, (_, i) => JSON.stringify({ id: `r${i}`, prompt: `Request ${i}: a short story about ${i * 7} cats` }));
  fs.writeFileSync(input, lines.join('\n') + '\n');
  const reference = path.join(work, 'reference.jsonl');
  const uninterrupted = runCli([...generationArgs(), '--batch-size', '8', '-o', reference]);
  expect(uninterrupted.status).toBe(0);
  baseline = linesByIndex(reference);
  expect(baseline).toHaveLength(REQUESTS);
});

function expectEveryIdOnce(file: string): string[] {
  const ids = outputLines(file).map((line) => line.record.id as string);
  expect(new Set(ids).size).toBe(ids.length);
  return ids;
}

test('SIGKILL at seeded points, then --resume: every id exactly once, equal to an uninterrupted run', async () => {
  const output = path.join(work, 'killed.jsonl');
  const random = seededRandom(20240607);
  // Three kill points, spread over the run: about 3, 10 and 25 lines.
  const killPoints = [1 + Math.floor(random() * 5), 8 + Math.floor(random() * 5), 22 + Math.floor(random() * 6)];
  const args = [...generationArgs(), '--batch-size', '2', '-o', output];

  for (const [round, lines] of killPoints.entries()) {
    const run = startCli(round === 0 ? args : [...args, '--resume']);
    expect(await waitForLines(output, lines, run)).toBe(true);
    run.child.kill('SIGKILL');
    const { signal } = await run.exited;
    expect(signal).toBe('SIGKILL');
    // What survived a kill is whole: complete JSON lines, no id twice.
    expect(expectEveryIdOnce(output).length).toBeGreaterThanOrEqual(lines);
    if (round === 0) {
      // A write torn by a crash: the resume must drop it (r39 is not done yet at the first kill point).
      expect(outputLines(output).some((line) => line.record.id === `r${REQUESTS - 1}`)).toBe(false);
      fs.appendFileSync(output, `{"id":"r${REQUESTS - 1}","index":${REQUESTS - 1},"text":"half a li`);
    }
  }

  const finish = runCli([...args, '--resume']);
  expect(finish.status).toBe(0);
  expect(finish.stderr).toContain('resuming');
  expect(expectEveryIdOnce(output)).toHaveLength(REQUESTS);
  expect(linesByIndex(output)).toEqual(baseline);
});

test('SIGINT: exit 130 with the exact resume command, which completes the run', async () => {
  const output = path.join(work, 'interrupted.jsonl');
  const run = startCli([...generationArgs(), '--batch-size', '2', '-o', output]);
  expect(await waitForLines(output, 6, run)).toBe(true);
  run.child.kill('SIGINT');
  const { code, stderr } = await run.exited;
  expect(code).toBe(130);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  const written = expectEveryIdOnce(output);
  expect(written.length).toBeGreaterThanOrEqual(6);
  expect(written.length).toBeLessThan(REQUESTS);

  const hint = stderr.split('\n').find((line) => line.trim().startsWith('qwen-gen ') && line.includes('--resume'));
  expect(hint).toBeDefined();
  const [program, ...hintArgs] = shellWords(hint!.trim());
  expect(program).toBe('qwen-gen');
  expect(hintArgs).toEqual([...generationArgs(), '--batch-size', '2', '-o', output, '--resume']);
  const resumed = runCli(hintArgs);
  expect(resumed.status).toBe(0);
  expect(linesByIndex(output)).toEqual(baseline);
});

test('a second signal stops at once with 130, leaving only whole lines', async () => {
  const output = path.join(work, 'twice.jsonl');
  const run = startCli([...generationArgs(), '--batch-size', '1', '-o', output]);
  expect(await waitForLines(output, 1, run)).toBe(true);
  run.child.kill('SIGTERM');
  run.child.kill('SIGINT');
  const { code, stderr } = await run.exited;
  expect(code).toBe(130);
  expect(stderr).not.toMatch(/\n\s+at /);
  expectEveryIdOnce(output);
});
