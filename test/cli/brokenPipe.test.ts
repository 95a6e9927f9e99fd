import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// A reader that goes away is not a failure for any command: `qwen-gen … | head -1` ends quietly with 0. The reader here
// is `true`, which exits without reading: qwen-gen (a second to start) writes after it is gone, so EPIPE is certain.
let modelDir: string;
let work: string;
let input: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-broken-pipe');
  work = tempDir('cli-broken-pipe');
  input = path.join(work, 'in.jsonl');
  fs.writeFileSync(input, Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, prompt: `Hello ${i}` })).join('\n') + '\n');
  const shard = path.join(work, 'shard-0.jsonl');
  fs.writeFileSync(shard, Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, index: i, text: 'x', finish_reason: 'stop', settings: 'fp' })).join('\n') + '\n');
});

/** qwen-gen's exit status and stderr when its stdout reader is already gone. */
function intoClosedPipe(args: string[]): { status: number; stderr: string } {
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  const result = spawnSync('bash', ['-c', `${quoted} 2>"$ERR" | true; echo "\${PIPESTATUS[0]}"`], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ERR: path.join(work, 'stderr.txt') },
  });
  return { status: Number(result.stdout.trim()), stderr: fs.readFileSync(path.join(work, 'stderr.txt'), 'utf8') };
}

test.each([
  ['generate --dry-run', () => [input, '-m', modelDir, '--dry-run', '-q']],
  ['generate', () => [input, '-m', modelDir, '--greedy', '--max-tokens', '1', '-q']],
  ['inspect', () => ['inspect', modelDir]],
  ['inspect --json', () => ['inspect', modelDir, '--json']],
  ['merge to stdout', () => ['merge', '-', path.join(work, 'shard-0.jsonl')]],
  ['--help', () => ['--help']],
  ['help merge', () => ['help', 'merge']],
])('%s | (a reader that is gone): exit 0, no EPIPE message', (_, args) => {
  const result = intoClosedPipe(args());
  expect(result.stderr).not.toMatch(/EPIPE|unexpected error/);
  expect(result.status).toBe(0);
});
