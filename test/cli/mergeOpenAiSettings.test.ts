import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// OpenAI-format lines carry their settings in response.body.system_fingerprint: merge and resume read them the same way.
let modelDir: string;
let work: string;
let input: string;

beforeAll(async () => {
  modelDir = await buildTestModel('merge-openai');
  work = tempDir('merge-openai');
  input = path.join(work, 'batch.jsonl');
  const lines = Array.from({ length: 6 }, (_, i) =>
    JSON.stringify({ custom_id: `q${i}`, method: 'POST', url: '/v1/chat/completions', body: { messages: [{ role: 'user', content: `Question ${i}?` }], max_tokens: 4 } }),
  );
  fs.writeFileSync(input, lines.join('\n') + '\n');
});

function shard(k: number, extra: string[]): string {
  const file = path.join(work, `shard-${k}-${extra.length}.jsonl`);
  const run = runCli([input, '-m', modelDir, '--shard', `${k}/2`, '-o', file, ...extra]);
  expect(run.status).toBe(0);
  return file;
}

test('merge: OpenAI-format shards run with different settings are caught (exit 1); the same settings merge (exit 0)', () => {
  const first = shard(0, []);
  const same = runCli(['merge', path.join(work, 'same.jsonl'), first, shard(1, []), '--input', input]);
  expect(same.stderr).toMatch(/mismatched settings 0, not in input 0\n.*\n\s*complete\n/);
  expect(same.status).toBe(0);

  const hotter = shard(1, ['--temperature', '1.3']);
  const mixed = runCli(['merge', path.join(work, 'mixed.jsonl'), first, hotter, '--input', input]);
  expect(mixed.stderr).toMatch(/mismatched settings [1-9]/);
  expect(mixed.status).toBe(1);
});

test('resume keeps an OpenAI-format line whose custom_id is a number, as merge accepts it', () => {
  const out = path.join(work, 'numeric.jsonl');
  expect(runCli([input, '-m', modelDir, '-o', out]).status).toBe(0);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  const renamed = JSON.parse(lines[0]);
  renamed.custom_id = 7;
  fs.writeFileSync(out, [JSON.stringify(renamed), ...lines.slice(1)].join('\n') + '\n');

  const merged = runCli(['merge', path.join(work, 'numeric-merged.jsonl'), out]);
  expect(merged.status).toBe(0);
  const resumed = runCli([input, '-m', modelDir, '--resume', '-o', out]);
  expect(resumed.stderr).toContain(`resuming ${out}: 6 complete line(s) kept`);
  expect(resumed.status).toBe(0);
  // The renamed line is kept, and the request it no longer names (q0) is generated again.
  const ids = fs.readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line).custom_id);
  expect(ids).toEqual([7, 'q1', 'q2', 'q3', 'q4', 'q5', 'q0']);
});
