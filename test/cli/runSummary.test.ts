import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// The end of a run tells the truth: the summary's gate line and the report's `exit` agree with the exit code in every
// case, and the figures count what ran.
let modelDir: string;
let work: string;
let longInput: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-run-summary');
  work = tempDir('cli-run-summary');
  longInput = path.join(work, 'long.jsonl');
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i, prompt: `Story number ${i} begins`, max_tokens: 150, ignore_eos: true }));
  fs.writeFileSync(longInput, lines.join('\n') + '\n');
});

const lastLine = (text: string) => text.trim().split('\n').pop()!;
const reportOf = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

test('interrupted (SIGINT once the first line is out): exit 130, the gate "not applied", figures of what ran', async () => {
  const report = path.join(work, 'interrupted.json');
  const child = spawn(process.execPath, [BIN, longInput, '-m', modelDir, '--greedy', '-b', '2', '--report', report], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  let stderr = '';
  let sent = false;
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (!sent && stdout.includes('\n')) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // 'close', not 'exit': at 'exit' stdout and stderr may not be read to their end yet.
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(130);
  const written = parseJsonl(stdout);
  const notDone = 40 - written.length;
  expect(notDone).toBeGreaterThan(0);
  const gate = `--fail-on error: not applied (interrupted by SIGINT, ${notDone} requests not done) — exit 130`;
  expect(stderr).toContain(`qwen-gen: ${gate}`);
  expect(stderr).not.toMatch(/passed/);
  const json = reportOf(report);
  expect(json.exit).toEqual({ fail_on: 'error', code: 130, reason: 'interrupted', requests_not_done: notDone, stopped_by: 'SIGINT' });
  // Counts of what ran: the written lines' requests and prompt tokens, not every prompt's.
  expect(json.figures.requests).toBe(written.length);
  const promptTokens = (records: Record<string, unknown>[]) => records.reduce((sum, r) => sum + (r.usage as { prompt_tokens: number }).prompt_tokens, 0);
  expect(json.figures.tokens.prompt).toBe(promptTokens(written));
  const planned = parseJsonl(runCli([longInput, '-m', modelDir, '--dry-run', '-q']).stdout);
  expect(planned.reduce((sum, r) => sum + (r.prompt_tokens as number), 0)).toBeGreaterThan(json.figures.tokens.prompt); // negative control
});

test('--max-time: exit 3 and the same words in the summary, the quiet line and the report', () => {
  const report = path.join(work, 'max-time.json');
  // The deadline falls once 3 requests are done (the test hook of --max-time): a fixed amount of work on any machine.
  const env = { QWEN_GEN_TEST_MAX_TIME_AFTER_REQUESTS: '3' };
  for (const quiet of [false, true]) {
    const result = runCli([longInput, '-m', modelDir, '--greedy', '-b', '2', '--max-time', '10m', '--report', report, '--overwrite', ...(quiet ? ['-q'] : [])], { env });
    expect(result.status).toBe(3);
    const json = reportOf(report);
    expect(json.exit).toMatchObject({ code: 3, reason: 'max_time', stopped_by: '--max-time 10m' });
    expect(json.exit.requests_not_done).toBeGreaterThan(0);
    const gate = `--fail-on error: not applied (stopped by --max-time 10m, ${json.exit.requests_not_done} requests not done) — exit 3`;
    const summaryLine = result.stderr.split('\n').find((line) => line.includes('--fail-on'))!;
    expect(summaryLine.endsWith(gate)).toBe(true);
    if (quiet) expect(summaryLine).toMatch(/^qwen-gen: \d+ requests in [\d.]+ s; 0 errors, 0 warnings; /);
  }
});

test('a failed request exits 1 and says so, also with its finding ignored or --fail-on never', () => {
  const input = '{"id":"ok","prompt":"Hello","max_tokens":2}\n{"id":"bad","prompt":"x","temperature":"hot"}\n';
  const ignored = runCli(['-', '-m', modelDir, '--greedy', '--ignore-finding', 'input_errors', '-q'], { input });
  expect(ignored.status).toBe(1);
  expect(lastLine(ignored.stderr)).toBe(
    `qwen-gen: ${/1 request, 1 failed in [\d.]+ s/.exec(ignored.stderr)![0]}; 0 errors, 0 warnings; --fail-on error: passed (no error finding), but 1 request failed (error records) — exit 1`,
  );
  const never = runCli(['-', '-m', modelDir, '--greedy', '--fail-on', 'never'], { input });
  expect(never.status).toBe(1);
  expect(lastLine(never.stderr)).toBe('qwen-gen: --fail-on never: report only, but 1 request failed (error records) — exit 1');
  // Negative control: the same without the bad line passes with 0.
  const clean = runCli(['-', '-m', modelDir, '--greedy', '--fail-on', 'never'], { input: input.split('\n')[0] + '\n' });
  expect(clean.status).toBe(0);
  expect(lastLine(clean.stderr)).toBe('qwen-gen: --fail-on never: report only — exit 0');
});

test('--strict exits as --dry-run does on the same bad lines (1), nothing generated; both documented', () => {
  const input = '{"id":"ok","prompt":"Hello"}\n{not json\n';
  const strict = runCli(['-', '-m', modelDir, '--strict'], { input });
  const dry = runCli(['-', '-m', modelDir, '--dry-run'], { input });
  expect(strict.status).toBe(1);
  expect(dry.status).toBe(strict.status);
  expect(strict.stdout).toBe('');
  expect(strict.stderr).toContain('qwen-gen: --strict: 1 input line is invalid; nothing was generated');
  const readme = fs.readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('## Progress'));
  expect(table).toMatch(/\| 1 \|[^\n]*`--strict`[^\n]*`--dry-run`/);
});

test('the summary: plurals, "(details in FILE)" only with --report, one error for one repeated id', () => {
  const one = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2'], { input: '{"id":"a","prompt":"Hello"}\n' });
  expect(one.stderr).toMatch(/^qwen-gen: 1 request in 1 batch; 1 prompt \+ 2 completion tokens/m);
  expect(one.stderr).toContain('(details with --report FILE)');
  const report = path.join(work, 'r.json');
  const withReport = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '--report', report], { input: '{"id":"a","prompt":"Hello"}\n' });
  expect(withReport.stderr).toContain(`(details in ${report})`);
  expect(withReport.stderr).not.toContain('details with --report');

  const repeated = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '2'], { input: '{"id":"a","prompt":"x"}\n{"id":"a","prompt":"y"}\n' });
  expect(repeated.status).toBe(1);
  expect(repeated.stderr).toContain('qwen-gen: findings: 1 error,');
  expect(repeated.stderr).toContain('duplicate_ids');
  expect(repeated.stderr).not.toContain('input_errors');
});

test('-q silences "resuming … kept" (shown without -q)', () => {
  const out = path.join(work, 'resume.jsonl');
  const args = ['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '-o', out];
  expect(runCli(args, { input: '{"id":"a","prompt":"Hello"}\n' }).status).toBe(0);
  const loud = runCli([...args, '--resume'], { input: '{"id":"a","prompt":"Hello"}\n' });
  expect(loud.stderr).toContain(`resuming ${out}: 1 complete line(s) kept`);
  const quiet = runCli([...args, '--resume', '-q'], { input: '{"id":"a","prompt":"Hello"}\n' });
  expect(quiet.status).toBe(0);
  expect(quiet.stderr).not.toContain('resuming');
});

test('--max-time 0 and --max-memory 1KB are refused with the reason; the size it names works', () => {
  for (const value of ['0', '0s', '500ms']) {
    const result = runCli(['-', '-m', modelDir, '--max-time', value], { input: '{"prompt":"x"}\n' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`qwen-gen: option '--max-time <duration>' argument '${value}' is invalid. --max-time must be`);
  }
  const small = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '8', '--max-memory', '1KB'], { input: '{"prompt":"Hello"}\n' });
  expect(small.status).toBe(2);
  expect(small.stdout).toBe('');
  const message = /qwen-gen: --max-memory 1KB is too small for this run: (.*); give at least --max-memory (\d+)MB/.exec(small.stderr);
  expect(message).not.toBeNull();
  expect(small.stderr).toContain('one prefill step alone takes');
  const dry = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '8', '--max-memory', '1KB', '--dry-run'], { input: '{"prompt":"Hello"}\n' });
  expect(dry.status).toBe(2);
  const enough = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '8', '--max-memory', `${message![2]}MB`, '-q'], { input: '{"prompt":"Hello"}\n' });
  expect(enough.status).toBe(0);
});
