import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
let modelDir: string;
let work: string;

function inputLines(file: string): { id: unknown; max_tokens?: number }[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line.trim().length > 0)
    .map(({ line, number }) => {
      const parsed = JSON.parse(line) as { id?: unknown; max_tokens?: number };
      return { id: parsed.id ?? number, max_tokens: parsed.max_tokens };
    });
}

function inputIds(file: string): unknown[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line.trim().length > 0)
    .map(({ line, number }) => (JSON.parse(line) as { id?: unknown }).id ?? number);
}

beforeAll(async () => {
  modelDir = await buildTestModel('cli');
  work = tempDir('cli-work');
});

test('file → stdout: one line per request, ids kept, each exactly once', () => {
  const result = runCli([FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '8']);
  expect(result.status).toBe(0);
  const records = parseJsonl(result.stdout);
  const expected = inputIds(FIXTURE);
  expect(records.map((r) => r.id).sort()).toEqual([...expected].sort());
  expect(new Set(records.map((r) => r.index)).size).toBe(expected.length);
  const maxTokens = new Map(inputLines(FIXTURE).map((l) => [l.id, l.max_tokens ?? 8]));
  for (const record of records) {
    expect(typeof record.text).toBe('string');
    expect(['stop', 'length']).toContain(record.finish_reason);
    const usage = record.usage as { prompt_tokens: number; completion_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeLessThanOrEqual(maxTokens.get(record.id)!);
    if (record.finish_reason === 'length') expect(usage.completion_tokens).toBe(maxTokens.get(record.id));
  }
  // Data on stdout, messages on stderr: the summary names the (mitigated, info) pad/eos collision, once.
  expect(result.stderr.match(/pad_is_eos/g)).toHaveLength(1);
});

test('stdin → stdout and -o file give the same completions as a file argument', () => {
  const args = ['-m', modelDir, '--greedy', '--max-tokens', '6', '--token-ids'];
  const fromFile = parseJsonl(runCli([FIXTURE, ...args]).stdout);
  const fromStdin = runCli(['-', ...args], { input: fs.readFileSync(FIXTURE) });
  expect(fromStdin.status).toBe(0);
  const out = path.join(work, 'out.jsonl');
  const toFile = runCli([FIXTURE, ...args, '-o', out]);
  expect(toFile.status).toBe(0);
  expect(toFile.stdout).toBe('');
  const byId = (records: Record<string, unknown>[]) => Object.fromEntries(records.map((r) => [String(r.id), r.completion_token_ids]));
  expect(byId(parseJsonl(fromStdin.stdout))).toEqual(byId(fromFile));
  expect(byId(parseJsonl(fs.readFileSync(out, 'utf8')))).toEqual(byId(fromFile));
  // An existing output file is never clobbered without --overwrite.
  const again = runCli([FIXTURE, ...args, '-o', out]);
  expect(again.status).toBe(2);
  expect(again.stderr).toMatch(/already exists/);
});

test('--batch-size 1 and the default batching give identical greedy token ids through the CLI', () => {
  const args = [FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '10', '--token-ids'];
  const solo = parseJsonl(runCli([...args, '--batch-size', '1']).stdout);
  const batched = parseJsonl(runCli([...args, '--batch-size', '8']).stdout);
  const byId = (records: Record<string, unknown>[]) => Object.fromEntries(records.map((r) => [String(r.id), r.completion_token_ids]));
  expect(byId(batched)).toEqual(byId(solo));
});

test('-m tiny builds the built-in model once into the cache directory and runs offline', () => {
  const cache = path.join(work, 'cache');
  const result = runCli([FIXTURE, '-m', 'tiny', '--greedy', '--max-tokens', '4'], { env: { QWEN_GEN_CACHE: cache } });
  expect(result.status).toBe(0);
  expect(parseJsonl(result.stdout)).toHaveLength(inputIds(FIXTURE).length);
  expect(fs.readdirSync(cache).some((name) => name.startsWith('tiny-'))).toBe(true);
});
