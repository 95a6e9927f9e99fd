import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTinyModel } from '../../src/tinymodel';
import { parseJsonl, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/testModels';

// Every dtype file name a real export uses, built on real graphs into one folder, run through the CLI with --dtype.
const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
let dir: string;

beforeAll(async () => {
  dir = path.join(tempDir('dtypes'), 'model');
  await buildTinyModel(dir, { variants: [...DTYPES] });
});

const byId = (stdout: string) => Object.fromEntries(parseJsonl(stdout).map((r) => [String(r.id), r.completion_token_ids]));

test.each(DTYPES)('--dtype %s runs its own file and completes every request', (dtype) => {
  const result = runCli([FIXTURE, '-m', dir, '--dtype', dtype, '--greedy', '--max-tokens', '4', '--token-ids', '-q']);
  expect(result.status).toBe(0);
  expect(parseJsonl(result.stdout)).toHaveLength(13);
});

test('dynamically quantized graphs (q8) run batched on the derived per-row graph, and batched equals solo', () => {
  const args = [FIXTURE, '-m', dir, '--dtype', 'q8', '--greedy', '--max-tokens', '6', '--token-ids'];
  const reportPath = path.join(tempDir('dtypes-report'), 'r.json');
  const batched = runCli([...args, '--batch-size', '8', '--report', reportPath]);
  expect(batched.status).toBe(0);
  const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
  expect(report.figures.batch_size_histogram.decode['8']).toBeGreaterThan(0);
  expect(report.model.derived_graph.rewrites.map((r: { name: string }) => r.name)).toContain('row_wise_activation_quantization');
  expect(report.findings.find((f: { code: string }) => f.code === 'batch_dependent_quantization')?.severity).toBe('info');
  const solo = runCli([...args, '--batch-size', '1']);
  expect(solo.status).toBe(0);
  expect(byId(batched.stdout)).toEqual(byId(solo.stdout));
});

test('--no-derived-graph: the q8 file runs as it is, at batch size 1 with a warning, so batched equals solo', () => {
  const args = [FIXTURE, '-m', dir, '--dtype', 'q8', '--greedy', '--max-tokens', '6', '--token-ids', '--no-derived-graph'];
  const batched = runCli([...args, '--batch-size', '8']);
  expect(batched.stderr).toMatch(/batch_dependent_quantization|one scale per batch/);
  const solo = runCli([...args, '--batch-size', '1']);
  expect(byId(batched.stdout)).toEqual(byId(solo.stdout));
});

test('q4 (MatMulNBits) batches, and batched equals solo', () => {
  const args = [FIXTURE, '-m', dir, '--dtype', 'q4', '--greedy', '--max-tokens', '6', '--token-ids', '-q'];
  expect(byId(runCli([...args, '--batch-size', '8']).stdout)).toEqual(byId(runCli([...args, '--batch-size', '1']).stdout));
});

test('a missing variant lists the ones present', () => {
  const other = path.join(tempDir('dtypes-one'), 'model');
  return buildTinyModel(other, {}).then(() => {
    const result = runCli([FIXTURE, '-m', other, '--dtype', 'q4']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/fp32/);
  });
});
