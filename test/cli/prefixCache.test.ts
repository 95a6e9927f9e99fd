import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

let plainDir: string;
let gqaDir: string;

beforeAll(async () => {
  plainDir = await buildTestModel('prefix-cli-plain', { attention: 'plain', seed: 3 });
  gqaDir = await buildTestModel('prefix-cli-gqa', { attention: 'gqa', rotary: 'fused', kvDtype: 'float16', seed: 3 });
}, 120_000);

const SYSTEM = 'You are the assistant of a batch job. Use short sentences; cite nothing; answer in English even when asked otherwise.';
const ask = (content: string) => [{ role: 'system', content: SYSTEM }, { role: 'user', content }];

/** Sampled and greedy requests sharing a system message, one with n = 3, one sharing nothing, one repeated. */
const LINES = [
  { id: 'a', messages: ask('What is the capital of France?'), temperature: 1.0, top_k: 40, max_tokens: 10 },
  { id: 'b', messages: ask('What is the capital of Italy and why?'), temperature: 0.8, top_p: 0.9, max_tokens: 12, n: 3 },
  { id: 'c', messages: ask('Name three prime numbers.'), temperature: 0, max_tokens: 9 },
  { id: 'd', messages: ask('Name three prime numbers.'), temperature: 1.2, seed: 4, max_tokens: 11 },
  { id: 'e', prompt: 'Once upon a time', temperature: 1.0, max_tokens: 8 },
  { id: 'f', messages: ask('x'), temperature: 0.9, min_p: 0.05, max_tokens: 7 },
];
const input = LINES.map((line) => JSON.stringify(line)).join('\n') + '\n';
const sorted = (stdout: string) => stdout.split('\n').filter(Boolean).sort();

test.each([['plain', () => plainDir], ['gqa + float16 KV', () => gqaDir]])(
  '%s: seeded sampling is byte for byte the same with the cache, without it, and solo; figures and finding',
  (_name, dir) => {
    const args = ['-', '-m', dir(), '--seed', '9', '--token-ids'];
    const work = tempDir('prefix-cli-report');
    const onReport = path.join(work, 'on.json');
    const offReport = path.join(work, 'off.json');
    const on = runCli([...args, '--report', onReport], { input });
    const off = runCli([...args, '--no-prefix-cache', '--report', offReport], { input });
    const solo = runCli([...args, '--batch-size', '1', '--no-prefix-cache'], { input });
    expect(on.status).toBe(0);
    expect(sorted(on.stdout)).toHaveLength(6);
    expect(sorted(on.stdout)).toEqual(sorted(solo.stdout));
    expect(sorted(off.stdout)).toEqual(sorted(solo.stdout));

    const report = JSON.parse(fs.readFileSync(onReport, 'utf8'));
    const figures = report.figures.prefix_cache;
    expect(figures.hits).toBeGreaterThanOrEqual(3);
    expect(figures.prompt_tokens_reused).toBeGreaterThan(60);
    const offFigures = JSON.parse(fs.readFileSync(offReport, 'utf8')).figures;
    expect(offFigures.prefix_cache.hits).toBe(0);
    // Prompt tokens computed drop by exactly what was reused.
    expect(figures.prompt_tokens_computed + figures.prompt_tokens_reused).toBe(offFigures.prefix_cache.prompt_tokens_computed);
    const finding = report.findings.find((f: { code: string }) => f.code === 'shared_prefix');
    expect(finding.severity).toBe('info');
    // The largest shared prefix: c and d are the same prompt, so all but its last token.
    expect(finding.evidence).toMatchObject({ requests: 2, prefix_tokens: 41 });
    expect(JSON.parse(fs.readFileSync(offReport, 'utf8')).findings.map((f: { code: string }) => f.code)).not.toContain('shared_prefix');
    expect(on.stderr).toMatch(/prefix cache: \d+ hits, \d+ prompt tokens reused, \d+ computed \([\d.]+ % of prefill saved\)/);
    expect(off.stderr).not.toMatch(/prefix cache/);
  },
  120_000,
);

test('--resume and --shard give the same lines with the cache on', () => {
  const args = ['-', '-m', gqaDir, '--seed', '9', '--token-ids'];
  const full = runCli(args, { input });
  expect(full.status).toBe(0);
  const work = tempDir('prefix-cli-resume');
  const out = path.join(work, 'out.jsonl');
  const firstIds = new Set(['a', 'c']);
  fs.writeFileSync(out, full.stdout.split('\n').filter((line) => line && firstIds.has(String(JSON.parse(line).id))).join('\n') + '\n');
  const resumed = runCli([...args, '-o', out, '--resume'], { input });
  expect(resumed.status).toBe(0);
  expect(sorted(fs.readFileSync(out, 'utf8'))).toEqual(sorted(full.stdout));
  const shards = [0, 1].flatMap((k) => sorted(runCli([...args, '--shard', `${k}/2`], { input }).stdout));
  expect(shards.sort()).toEqual(sorted(full.stdout));
  expect((parseJsonl(full.stdout).find((r) => r.id === 'b')!.choices as unknown[])).toHaveLength(3); // n = 3 samples
}, 120_000);

test('plain graph with float16 KV: prefix caching turns itself off (reuse is not bit-exact there) and the report says so', async () => {
  const dir = await buildTestModel('prefix-cli-plain16', { attention: 'plain', kvDtype: 'float16', seed: 3 });
  const work = tempDir('prefix-cli-off');
  const report = path.join(work, 'report.json');
  const args = ['-', '-m', dir, '--seed', '9', '--token-ids'];
  const on = runCli([...args, '--report', report], { input });
  const solo = runCli([...args, '--batch-size', '1', '--no-prefix-cache'], { input });
  expect(on.status).toBe(0);
  expect(sorted(on.stdout)).toEqual(sorted(solo.stdout));
  const json = JSON.parse(fs.readFileSync(report, 'utf8'));
  expect(json.figures.prefix_cache.hits).toBe(0);
  expect(json.findings.map((f: { code: string }) => f.code)).toEqual(expect.arrayContaining(['prefix_cache_off']));
  expect(json.findings.map((f: { code: string }) => f.code)).not.toContain('shared_prefix');
}, 120_000);
