import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// The CI gate through the real CLI: `--fail-on warning` passes on a Qwen3-shaped model with clean input, and fails only
// on what the user should change.
const CLEAN = '{"id":"a","prompt":"Hello"}\n{"id":"b","messages":[{"role":"user","content":"Hi"}]}\n';
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-gate');
  work = tempDir('cli-gate');
});

const findingsOf = (file: string) =>
  JSON.parse(fs.readFileSync(file, 'utf8')).findings as { code: string; severity: string; action: string }[];

test('--fail-on warning passes on clean input with a length cap you chose: pad_is_eos and hit_max_tokens are info', () => {
  const report = path.join(work, 'clean.json');
  const result = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '3', '--fail-on', 'warning', '--report', report], { input: CLEAN });
  expect(result.status).toBe(0);
  const findings = findingsOf(report);
  const padIsEos = findings.find((f) => f.code === 'pad_is_eos')!;
  expect(padIsEos.severity).toBe('info');
  expect(padIsEos.action).toMatch(/explicit attention_mask/);
  expect(findings.find((f) => f.code === 'hit_max_tokens')?.severity).toBe('info');
  expect(findings.filter((f) => f.severity !== 'info')).toEqual([]);
  // Printed once (the summary lists info findings by code), not once at load and again at the end.
  expect(result.stderr.match(/pad_is_eos/g)).toHaveLength(1);
});

test('outputs cut at the built-in default max_tokens are a warning; --ignore-finding drops it from the gate', () => {
  const input = '{"id":"long","prompt":"Hello","ignore_eos":false,"min_tokens":256}\n';
  const args = ['-', '-m', modelDir, '--greedy', '--fail-on', 'warning'];
  const strict = runCli(args, { input });
  expect(strict.status).toBe(1);
  expect(strict.stderr).toMatch(/warning hit_max_tokens/);
  const report = path.join(work, 'ignored.json');
  const ignored = runCli([...args, '--ignore-finding', 'hit_max_tokens', '--report', report], { input });
  expect(ignored.status).toBe(0);
  expect(findingsOf(report).map((f) => f.code)).not.toContain('hit_max_tokens');
  expect(runCli([...args, '--ignore-finding', 'no_such_code'], { input }).status).toBe(2);
});

test('-q keeps only errors and the one-line result', () => {
  const input = '{"id":"ok","prompt":"Hello"}\n{"id":"bad","prompt":"x","top_p":7}\n{"id":"empty","messages":[{"role":"user","content":""}]}\n';
  const quiet = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { input });
  expect(quiet.status).toBe(1);
  const lines = quiet.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^qwen-gen: error input_errors: /);
  expect(lines[lines.length - 1]).toMatch(/^qwen-gen: 2 requests, 1 failed in [\d.]+ s; 1 error, 1 warning; --fail-on error: failed — exit 1$/);
  expect(lines).toHaveLength(2);
  expect(quiet.stderr).not.toContain('empty_prompt');
});

test('under GITHUB_ACTIONS=true the Markdown summary is appended to $GITHUB_STEP_SUMMARY', () => {
  const summary = path.join(work, 'step-summary.md');
  fs.writeFileSync(summary, '# earlier step\n');
  const env = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
  expect(runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { input: CLEAN, env }).status).toBe(0);
  const text = fs.readFileSync(summary, 'utf8');
  expect(text.startsWith('# earlier step\n')).toBe(true);
  expect(text).toContain('## qwen-gen report');
  expect(text).toContain('pad_is_eos');
  // Not outside GitHub Actions.
  const other = path.join(work, 'other.md');
  expect(runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], { input: CLEAN, env: { GITHUB_ACTIONS: '', GITHUB_STEP_SUMMARY: other } }).status).toBe(0);
  expect(fs.existsSync(other)).toBe(false);
});
