import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkJsonSchema } from '../../src/diagnostics/jsonSchemaCheck';
import { runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
const SCHEMA = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../docs/report-schema.json'), 'utf8'));
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-report');
  work = tempDir('cli-report');
});

test('the run report names the pad/eos collision with its evidence and validates against the documented schema', () => {
  const file = path.join(work, 'report.json');
  const result = runCli([FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '4', '--report', file]);
  expect(result.status).toBe(0);
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  expect(checkJsonSchema(report, SCHEMA)).toEqual([]);
  expect(report.version).toBe(1);
  const padIsEos = report.findings.find((f: { code: string }) => f.code === 'pad_is_eos');
  expect(padIsEos.severity).toBe('info');
  expect(padIsEos.action).toContain('attention_mask');
  expect(padIsEos.evidence.pad_token_id).toBe(151643);
  expect(report.figures.requests).toBe(13);
  // The summary on stderr, plain text when NO_COLOR is set.
  expect(result.stderr).toMatch(/findings: .*warning/);
  expect(result.stderr).not.toMatch(/\u001b\[/);
});

test('--fail-on sets the exit code; annotations appear only under GITHUB_ACTIONS=true', () => {
  const args = [FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '3'];
  const plain = runCli([...args, '--fail-on', 'warning'], { env: { GITHUB_ACTIONS: '' } });
  expect(plain.status).toBe(1);
  expect(plain.stderr).not.toMatch(/^::/m);
  expect(runCli([...args, '--fail-on', 'never']).status).toBe(0);
  expect(runCli([...args]).status).toBe(0); // default: error
  const ci = runCli([...args, '--fail-on', 'warning'], { env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: '' } });
  expect(ci.status).toBe(1);
  // The fixture's empty message content is a warning (the user should fix it); Qwen3's pad/eos collision is a notice.
  expect(ci.stderr).toMatch(/^::warning title=qwen-gen empty_prompt/m);
  expect(ci.stderr).toMatch(/^::notice title=qwen-gen pad_is_eos/m);
});

test('--report-format markdown writes a Markdown summary', () => {
  const file = path.join(work, 'report.md');
  expect(runCli([FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '2', '--report', file, '--report-format', 'markdown', '-q']).status).toBe(0);
  const text = fs.readFileSync(file, 'utf8');
  expect(text).toMatch(/^#/m);
  expect(text).toContain('pad_is_eos');
});
