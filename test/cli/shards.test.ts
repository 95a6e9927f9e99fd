import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

let modelDir: string;
let work: string;
let input: string;

beforeAll(async () => {
  modelDir = await buildTestModel('shards');
  work = tempDir('shards-work');
  input = path.join(work, 'prompts.jsonl');
  const lines = Array.from({ length: 21 }, (_, i) =>
    JSON.stringify(
      i % 3 === 0
        ? { id: `r${i}`, prompt: `Request ${i}: ${'word '.repeat(i)}`, max_tokens: 3 + (i % 5) }
        : { id: `r${i}`, messages: [{ role: 'user', content: `Question ${i}? ${'更多 '.repeat(i % 7)}` }], max_tokens: 4 + (i % 4), temperature: i % 2 ? 0.8 : 0 },
    ),
  );
  // Structured outputs too: constrained rows (sampled and greedy) must not depend on their shard either.
  const schema = { type: 'object', properties: { k: { type: 'integer', minimum: 0, maximum: 9 } }, required: ['k'] };
  const constrained = [
    { guided_json: schema, temperature: 0.9 },
    { guided_regex: '[a-z]{2,4}', temperature: 1.2 },
    { guided_choice: ['one', 'two', 'three'], temperature: 0 },
    { response_format: { type: 'json_schema', json_schema: { name: 'k', schema } }, temperature: 0.7 },
    { guided_grammar: 'root ::= [0-9] [0-9]?', temperature: 1.0 },
    { guided_choice: ['yes', 'no'], temperature: 1.0, n: 2 },
  ].map((params, j) => JSON.stringify({ id: `r${21 + j}`, prompt: `Constrained ${j}`, max_tokens: 16, ...params }));
  fs.writeFileSync(input, [...lines, ...constrained].join('\n') + '\n');
});

function sortedByIndex(text: string): string {
  return parseJsonl(text)
    .sort((a, b) => (a.index as number) - (b.index as number))
    .map((r) => JSON.stringify(r))
    .join('\n');
}

test.each([1, 2, 3, 7])('%i shards: disjoint, complete, and merged equal to the single-machine run byte for byte', (count) => {
  const single = runCli([input, '-m', modelDir, '--seed', '3', '--token-ids']);
  expect(single.status).toBe(0);
  const files: string[] = [];
  const seen = new Set<unknown>();
  for (let k = 0; k < count; k++) {
    const file = path.join(work, `n${count}-shard-${k}.jsonl`);
    const run = runCli([input, '-m', modelDir, '--seed', '3', '--token-ids', '--shard', `${k}/${count}`, '-o', file]);
    expect(run.status).toBe(0);
    for (const record of parseJsonl(fs.readFileSync(file, 'utf8'))) {
      expect(seen.has(record.id)).toBe(false);
      seen.add(record.id);
    }
    files.push(file);
  }
  expect(seen.size).toBe(27);
  const merged = path.join(work, `n${count}-merged.jsonl`);
  const merge = runCli(['merge', merged, ...files, '--input', input]);
  expect(merge.status).toBe(0);
  expect(sortedByIndex(fs.readFileSync(merged, 'utf8'))).toBe(sortedByIndex(single.stdout));
});

test('merge detects a missing shard and a shard run with different settings', () => {
  const files = [0, 1, 2].map((k) => {
    const file = path.join(work, `m-shard-${k}.jsonl`);
    runCli([input, '-m', modelDir, '--seed', k === 2 ? '4' : '3', '--shard', `${k}/3`, '-o', file]);
    return file;
  });
  const missing = runCli(['merge', path.join(work, 'm1.jsonl'), files[0], files[1], '--input', input]);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/missing/i);
  const mismatched = runCli(['merge', path.join(work, 'm2.jsonl'), ...files, '--input', input]);
  expect(mismatched.status).toBe(1);
  expect(mismatched.stderr).toMatch(/settings/i);
});

test('--shard auto/N reads the index from the environment, and fails clearly without one', () => {
  const env = { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: '', QWEN_GEN_SHARD_INDEX: '', CI_NODE_INDEX: '' };
  const viaK8s = runCli([input, '-m', modelDir, '--greedy', '--shard', 'auto/3'], { env: { ...env, JOB_COMPLETION_INDEX: '1' } });
  const explicit = runCli([input, '-m', modelDir, '--greedy', '--shard', '1/3']);
  expect(viaK8s.status).toBe(0);
  expect(viaK8s.stdout).toBe(explicit.stdout);
  const none = runCli([input, '-m', modelDir, '--shard', 'auto/3'], { env });
  expect(none.status).toBe(2);
  expect(none.stderr).toMatch(/JOB_COMPLETION_INDEX/);
  expect(none.stderr).not.toMatch(/\n\s+at /); // no stack trace
});
