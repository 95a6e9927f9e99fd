import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, runCli } from '../helpers/cli';
import { linesByIndex, outputLines } from '../helpers/reliability';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Resume edge cases, refused resumes, and I/O failures: clear messages, right exit codes, never a stack trace.
const REQUESTS = 8;
let modelDir: string;
let work: string;
let input: string;
let complete: string;

const STACK_FRAME = /\n\s+at /;
const args = () => [input, '-m', modelDir, '--greedy', '--max-tokens', '6'];

beforeAll(async () => {
  modelDir = await buildTestModel('reliability-failures');
  work = tempDir('reliability-failures');
  input = path.join(work, 'requests.jsonl');
  const lines = Array.from({ length: REQUESTS }, (_, i) => JSON.stringify({ id: `q${i}`, prompt: `Question ${i}: why is the sky ${i} times blue?` }));
  fs.writeFileSync(input, lines.join('\n') + '\n');
  complete = path.join(work, 'complete.jsonl');
  expect(runCli([...args(), '-o', complete]).status).toBe(0);
});

/** A copy of the complete output cut to its first `lines` lines, as an interrupted run leaves it. */
function partialCopy(name: string, lines: number, extra = ''): string {
  const file = path.join(work, name);
  const kept = fs.readFileSync(complete, 'utf8').split('\n').slice(0, lines);
  fs.writeFileSync(file, kept.map((line) => line + '\n').join('') + extra);
  return file;
}

test('resuming with other generation settings is refused, the file untouched; --force accepts', () => {
  const file = partialCopy('other-settings.jsonl', 3);
  const before = fs.readFileSync(file);
  for (const changed of [['--max-tokens', '7'], ['--seed', '5']]) {
    const refused = runCli([input, '-m', modelDir, '--greedy', '--max-tokens', '6', ...changed, '-o', file, '--resume']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/other settings/);
    expect(refused.stderr).toMatch(/--force/);
    expect(refused.stderr).not.toMatch(STACK_FRAME);
    expect(fs.readFileSync(file)).toEqual(before);
  }
  const forced = runCli([...args(), '--max-tokens', '7', '-o', file, '--resume', '--force']);
  expect(forced.status).toBe(0);
  const lines = outputLines(file);
  expect(lines.map((l) => l.record.id).sort()).toEqual(Array.from({ length: REQUESTS }, (_, i) => `q${i}`).sort());
  expect(fs.readFileSync(file).subarray(0, before.length)).toEqual(before); // kept lines are kept as they were
});

test('error records are evaluated again on resume, repeated lines dropped, and the result equals a full run', () => {
  const [first, second, third] = fs.readFileSync(complete, 'utf8').split('\n');
  const failed = JSON.parse(second) as { id: string; index: number; settings: string };
  const runtimeError = JSON.stringify({
    id: failed.id, index: failed.index, error: { code: 'runtime_error', message: 'simulated', line: failed.index + 1 }, settings: failed.settings,
  });
  // The error record sits between complete lines, so the file must be rewritten, not just cut.
  const file = path.join(work, 'with-errors.jsonl');
  fs.writeFileSync(file, [first, runtimeError, third, first].join('\n') + '\n');
  const resumed = runCli([...args(), '-o', file, '--resume']);
  expect(resumed.status).toBe(0);
  expect(resumed.stderr).toMatch(/1 error record/);
  expect(linesByIndex(file)).toEqual(linesByIndex(complete));
});

test('a torn last line is dropped; an unreadable line before the end is refused', () => {
  const torn = partialCopy('torn.jsonl', 4, '{"id":"q7","index":7,"te');
  const resumed = runCli([...args(), '-o', torn, '--resume']);
  expect(resumed.status).toBe(0);
  expect(resumed.stderr).toMatch(/torn last line/);
  expect(linesByIndex(torn)).toEqual(linesByIndex(complete));

  const corrupt = partialCopy('corrupt.jsonl', 2, 'not json at all\n' + fs.readFileSync(complete, 'utf8').split('\n')[2] + '\n');
  const before = fs.readFileSync(corrupt);
  const refused = runCli([...args(), '-o', corrupt, '--resume']);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/line 3 is not a qwen-gen output line/);
  expect(fs.readFileSync(corrupt)).toEqual(before);
});

test('--resume with --shard continues that shard only', () => {
  const shardComplete = path.join(work, 'shard-complete.jsonl');
  expect(runCli([...args(), '--shard', '1/2', '-o', shardComplete]).status).toBe(0);
  const expected = linesByIndex(shardComplete);
  expect(expected.length).toBeGreaterThan(1);
  expect(expected.length).toBeLessThan(REQUESTS);
  const file = path.join(work, 'shard-partial.jsonl');
  fs.writeFileSync(file, expected.slice(0, 1).join('\n') + '\n' + expected[1].slice(0, 20));
  const resumed = runCli([...args(), '--shard', '1/2', '-o', file, '--resume']);
  expect(resumed.status).toBe(0);
  expect(linesByIndex(file)).toEqual(expected);
});

test('--resume on a finished file has nothing to do; on a missing file it starts one', () => {
  const finished = partialCopy('finished.jsonl', REQUESTS);
  const before = fs.readFileSync(finished);
  expect(runCli([...args(), '-o', finished, '--resume']).status).toBe(0);
  expect(fs.readFileSync(finished)).toEqual(before);

  const fresh = path.join(work, 'fresh.jsonl');
  expect(runCli([...args(), '-o', fresh, '--resume']).status).toBe(0);
  expect(linesByIndex(fresh)).toEqual(linesByIndex(complete));
});

test('flag misuse is a usage error (2)', () => {
  const noFile = runCli([...args(), '--resume']);
  expect(noFile.status).toBe(2);
  expect(noFile.stderr).toMatch(/--resume needs -o FILE/);
  const both = runCli([...args(), '-o', path.join(work, 'x.jsonl'), '--resume', '--overwrite']);
  expect(both.status).toBe(2);
  expect(both.stderr).toMatch(/contradict/);
});

test('an unwritable output path fails clearly (2), before the model loads', () => {
  const missingDir = path.join(work, 'no-such-dir', 'out.jsonl');
  const result = runCli([...args(), '-o', missingDir]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(`-o ${missingDir}: directory`);
  expect(result.stderr).toMatch(/does not exist/);
  // With a model that cannot load, the output problem is still what is reported: it was checked first.
  const early = runCli([input, '-m', path.join(work, 'no-such-model'), '-o', missingDir]);
  expect(early.status).toBe(2);
  expect(early.stderr).toContain(`-o ${missingDir}: directory`);

  const directory = runCli([...args(), '-o', work]);
  expect(directory.status).toBe(2);
  expect(directory.stderr).toMatch(/is a directory/);

  if (process.getuid?.() !== 0) {
    const readOnly = path.join(work, 'read-only');
    fs.mkdirSync(readOnly, { mode: 0o555 });
    const denied = runCli([...args(), '-o', path.join(readOnly, 'out.jsonl')]);
    expect(denied.status).toBe(2);
    expect(denied.stderr).toMatch(/permission denied/);
  }
  for (const r of [result, early, directory]) expect(r.stderr).not.toMatch(STACK_FRAME);
});

const hasDevFull = fs.existsSync('/dev/full');
(hasDevFull ? test : test.skip)('a full disk (ENOSPC) is a clear error naming the file, exit 2', () => {
  const result = runCli([...args(), '-o', '/dev/full', '--overwrite']);
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/cannot write to output file \/dev\/full: no space left on the device \(ENOSPC\)/);
  expect(result.stderr).not.toMatch(STACK_FRAME);
});

test('qwen-gen big.jsonl | head -1 exits quietly', () => {
  const big = path.join(work, 'big.jsonl');
  const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: i, prompt: `Line ${i}` }));
  fs.writeFileSync(big, lines.join('\n') + '\n');
  const quote = (s: string) => `'${s}'`;
  const script = `${quote(process.execPath)} ${quote(BIN)} ${quote(big)} -m ${quote(modelDir)} --greedy --max-tokens 4 --batch-size 1 | head -1; echo "status=\${PIPESTATUS[0]}" >&2`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const firstLine = JSON.parse(result.stdout.trim()) as { id: number };
  expect(typeof firstLine.id).toBe('number');
  expect(result.stderr).toMatch(/status=0\n/);
  expect(result.stderr).not.toMatch(/EPIPE|error/i);
  expect(result.stderr).not.toMatch(STACK_FRAME);
});
