import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Every bad-input fixture through the real CLI: bad lines become error records naming the line (and field), good lines in
// the same file still complete, every non-blank line appears exactly once, and nothing prints a stack trace.
const DIR = path.resolve(__dirname, '../../fixtures/bad-input');
let modelDir: string;

beforeAll(async () => {
  modelDir = await buildTestModel('bad-input', { maxPositionEmbeddings: 512 });
});

const nonBlankLines = (file: string) =>
  fs.readFileSync(file).toString('latin1').split('\n').filter((line) => line.replace(/^\uFEFF|^\u00EF\u00BB\u00BF/, '').trim().length > 0).length;

const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.jsonl') && !['empty.jsonl', 'blank-only.jsonl'].includes(f));

test.each(files)('%s: one output line per input line, errors named, good lines generated', (name) => {
  const file = path.join(DIR, name);
  const result = runCli([file, '-m', modelDir, '--greedy', '--max-tokens', '2', '-q']);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  const records = parseJsonl(result.stdout);
  expect(records).toHaveLength(nonBlankLines(file));
  const errors = records.filter((r) => 'error' in r && r.error);
  const isOpenAi = records.some((r) => 'custom_id' in r);
  for (const record of errors) {
    const error = record.error as { code: string; message: string; line?: number };
    expect(error.code).toMatch(/^[a-z0-9_]+$/);
    if (!isOpenAi) expect(error.message).toMatch(new RegExp(`^line ${error.line}: `));
  }
  expect(result.status).toBe(errors.length > 0 ? 1 : 0);
  // Each input line once (OpenAI lines carry no index; a duplicated custom_id there is the input's own repeat).
  if (!isOpenAi) expect(new Set(records.map((r) => r.index)).size).toBe(records.length);
});

test('an empty input is like an empty shard: exit 0, no output lines, an empty_input warning', () => {
  for (const name of ['empty.jsonl', 'blank-only.jsonl']) {
    const report = path.join(tempDir('empty-input'), 'r.json');
    const result = runCli([path.join(DIR, name), '-m', modelDir, '--report', report]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/warning empty_input: the input has no requests/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const codes = JSON.parse(fs.readFileSync(report, 'utf8')).findings.map((f: { code: string }) => f.code);
    expect(codes).toContain('empty_input');
  }
  // Empty stdin too; --fail-on warning turns it into a failure for CI jobs that must not run on nothing.
  const stdin = runCli(['-m', modelDir, '--fail-on', 'warning'], { input: '' });
  expect(stdin.status).toBe(1);
  expect(stdin.stdout).toBe('');
  expect(stdin.stderr).toContain('empty_input');
});

test('a prompt over the model context is refused per request, the others complete', () => {
  const lines = [
    { id: 'short', prompt: 'Hello' },
    { id: 'huge', prompt: 'word '.repeat(2000) },
    { id: 'edge', prompt: 'word '.repeat(500), max_tokens: 100 },
  ];
  const result = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '3', '--report', '/dev/null'], { input: lines.map((l) => JSON.stringify(l)).join('\n') });
  expect(result.status).toBe(1);
  const byId = Object.fromEntries(parseJsonl(result.stdout).map((r) => [String(r.id), r]));
  expect((byId.huge.error as { code: string }).code).toBe('prompt_over_context');
  expect(byId.short.text).toEqual(expect.any(String));
  // 500 words fit in 512 tokens only with max_tokens clamped to the room left.
  const edge = byId.edge as { usage: { prompt_tokens: number; completion_tokens: number } };
  expect(edge.usage.prompt_tokens + edge.usage.completion_tokens).toBeLessThanOrEqual(512);
  expect(result.stderr).toMatch(/prompt_over_context/);
});
