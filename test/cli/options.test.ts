import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Options through the real CLI: every flag is checked like its JSONL field, each command takes only its own options.
const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-options');
  work = tempDir('cli-options');
});

function expectUsageError(args: string[], ...mentions: string[]): string {
  const result = runCli(args);
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  for (const text of mentions) expect(result.stderr).toContain(text);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result.stderr;
}

test.each([
  ['--top-p', '5', 'a number > 0 and ≤ 1'],
  ['--presence-penalty', 'abc', 'a number from -2 to 2'],
  ['--min-tokens', '1.5', 'an integer ≥ 0'],
  ['--max-tokens', '0', 'an integer ≥ 1'],
  ['--temperature', '-1', 'a number ≥ 0'],
  ['--top-k', '', 'an integer ≥ 0'],
  ['--seed', '1.5', 'an integer'],
  ['--stop', '', 'a non-empty string'],
])('%s %j is refused like the JSONL field: exit 2 naming the flag', (flag, value, requirement) => {
  expectUsageError([FIXTURE, '-m', modelDir, flag, value], `${flag} must be ${requirement}`, JSON.stringify(value));
});

test('--stop takes one value and repeats; it never swallows the input file', () => {
  const result = runCli(['--stop', 'END', FIXTURE, '--stop', 'ZZ', '-m', modelDir, '--greedy', '--max-tokens', '2', '--echo-params']);
  expect(result.status).toBe(0);
  const records = parseJsonl(result.stdout);
  expect(records.length).toBe(13);
  for (const record of records) expect((record.params as { stop: string[] }).stop).toEqual(['END', 'ZZ']);
});

test('CLI flags reach --echo-params with their checked values; a line overrides them', () => {
  const input = '{"id":"a","prompt":"hi"}\n{"id":"b","prompt":"hi","top_p":0.5}\n';
  const result = runCli(['-', '-m', modelDir, '--top-p', '0.9', '--min-tokens', '1', '--max-tokens', '3', '--echo-params'], { input });
  expect(result.status).toBe(0);
  const params = new Map(parseJsonl(result.stdout).map((r) => [r.id, r.params as Record<string, unknown>]));
  expect(params.get('a')).toMatchObject({ top_p: 0.9, min_tokens: 1, max_tokens: 3 });
  expect(params.get('b')).toMatchObject({ top_p: 0.5, min_tokens: 1 });
});

test('--greedy with --temperature is a conflict naming both flags', () => {
  expectUsageError([FIXTURE, '-m', modelDir, '--greedy', '--temperature', '0.7'], '--greedy', '--temperature');
});

test('each command declares its own options: generate-only options given to inspect are usage errors', () => {
  expectUsageError(['inspect', modelDir, '-o', 'x.jsonl'], "unknown option '-o'");
  expectUsageError(['inspect', modelDir, '--batch-size', '2'], "unknown option '--batch-size'");
  // inspect has its own model-source options, and uses them (the tiny model has no q4 graph).
  const dtype = runCli(['inspect', modelDir, '--dtype', 'q4']);
  expect(dtype.status).toBe(2);
  expect(dtype.stderr).toMatch(/no onnx\/model_q4\.onnx for --dtype q4/);
  // --offline on inspect stays offline: a hub id missing from the cache fails without the network.
  const offline = runCli(['inspect', 'no-such-owner/no-such-model', '--offline', '--hub-url', 'http://127.0.0.1:9'], {
    env: { HF_HOME: work, QWEN_GEN_CACHE: work, XDG_CACHE_HOME: work },
  });
  expect(offline.status).toBe(2);
  expect(offline.stderr).toMatch(/offline|cache/i);
  expect(offline.stderr).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:9/);
});

test('qwen-gen help <command> and qwen-gen generate FILE', () => {
  const help = runCli(['help', 'generate']);
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('Usage: qwen-gen generate [options] [input]');
  expect(help.stdout).toContain('--top-p <p>');
  expect(runCli(['help', 'inspect']).stdout).toContain('--offline');
  const explicit = runCli(['generate', FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '2']);
  const implicit = runCli([FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '2']);
  expect(explicit.status).toBe(0);
  expect(explicit.stdout).toBe(implicit.stdout);
  expect(parseJsonl(explicit.stdout)).toHaveLength(13);
});

test('output paths are checked before the model loads', () => {
  // A model that does not exist: if the report path were checked after loading, the model error would come first.
  const missing = path.join(work, 'no-model');
  expectUsageError([FIXTURE, '-m', missing, '--report', '/no/such/dir/r.json'], '--report /no/such/dir/r.json: directory /no/such/dir does not exist');
  expectUsageError([FIXTURE, '-m', missing, '--report', work], `--report ${work}: ${work} is a directory, not a file`);
  expectUsageError([FIXTURE, '-m', missing, '-o', '/no/such/dir/out.jsonl'], '-o /no/such/dir/out.jsonl: directory /no/such/dir does not exist');
});

test('--report r.md writes Markdown, r.json JSON; --report-format without --report is a usage error', () => {
  const md = path.join(work, 'r.md');
  const json = path.join(work, 'r.json');
  expect(runCli([FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '2', '--report', md, '-q']).status).toBe(0);
  expect(fs.readFileSync(md, 'utf8')).toMatch(/^## qwen-gen report/m);
  expect(runCli([FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '2', '--report', json, '-q']).status).toBe(0);
  expect(JSON.parse(fs.readFileSync(json, 'utf8')).version).toBe(1);
  expectUsageError([FIXTURE, '-m', modelDir, '--report-format', 'markdown'], '--report-format needs --report FILE');
});
