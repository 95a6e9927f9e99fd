import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-dry-run');
  work = tempDir('cli-dry-run');
});

test('--dry-run prints per-request token counts on stdout and the plan on stderr; the real run agrees with both', () => {
  const args = [FIXTURE, '-m', modelDir, '--greedy', '--max-tokens', '6', '--ignore-eos', '-b', '4'];
  // The real run first: it writes the derived logits graph, which the dry run then plans with (as the next run would).
  const report = path.join(work, 'real.json');
  const real = runCli([...args, '--report', report]);
  expect(real.status).toBe(0);
  const dry = runCli([...args, '--dry-run']);
  expect(dry.status).toBe(0);
  const planned = parseJsonl(dry.stdout);
  expect(planned).toHaveLength(13);
  const planMatch = /planned: (\d+) prefill group\(s\) at batch size ≤ 4/.exec(dry.stderr);
  expect(planMatch).not.toBeNull();
  expect(dry.stderr).toMatch(/dry run: 13 request\(s\) to run; \d+ prompt tokens, at most \d+ completion tokens; nothing generated/);
  expect(dry.stderr).toMatch(/memory: budget \d+ MB; KV \d+ bytes per token; prefill ≤ \d+ tokens per step; cache ≤ \d+ tokens/);
  expect(dry.stderr).toContain('empty_prompt'); // diagnostics ran

  const records = new Map(parseJsonl(real.stdout).map((r) => [r.id, r]));
  for (const line of planned) {
    const record = records.get(line.id) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(line.prompt_tokens).toBe(record.usage.prompt_tokens);
    expect(line.max_tokens).toBe(record.usage.completion_tokens); // --ignore-eos: every output runs to max_tokens
  }
  // With every output at max_tokens the plan is exact: the same prefill groups as the real scheduler.
  expect(JSON.parse(fs.readFileSync(report, 'utf8')).figures.batches).toBe(Number(planMatch![1]));
});

test('--dry-run loads no session and writes nothing: a graph onnxruntime cannot run still plans; the real run fails', () => {
  const broken = path.join(work, 'broken-model');
  fs.cpSync(modelDir, broken, { recursive: true });
  for (const file of fs.readdirSync(path.join(broken, 'onnx'))) if (file !== 'model.onnx') fs.rmSync(path.join(broken, 'onnx', file));
  const onnxPath = path.join(broken, 'onnx', 'model.onnx');
  const model = onnx.ModelProto.decode(fs.readFileSync(onnxPath));
  const node = model.graph!.node!.find((n) => n.opType === 'Mul')!;
  node.opType = 'NoSuchOperator';
  fs.writeFileSync(onnxPath, onnx.ModelProto.encode(model).finish());

  const output = path.join(work, 'dry-out.jsonl');
  const dry = runCli(['-', '-m', broken, '--dry-run', '-o', output], { input: '{"id":"a","prompt":"Hello"}\n' });
  expect(dry.stderr).toMatch(/dry run: 1 request\(s\) to run/);
  expect(dry.status).toBe(0);
  expect(parseJsonl(dry.stdout)).toEqual([{ id: 'a', index: 0, line: 1, prompt_tokens: expect.any(Number), max_tokens: 256, n: 1 }]);
  expect(fs.existsSync(output)).toBe(false);
  expect(fs.readdirSync(path.join(broken, 'onnx'))).toEqual(['model.onnx']); // no derived graph written either

  const real = runCli(['-', '-m', broken, '--no-derived-graph'], { input: '{"id":"a","prompt":"Hello"}\n' });
  expect(real.status).toBe(2);
  expect(real.stderr).toMatch(/NoSuchOperator/);
});

test('--dry-run: bad lines and refused prompts are listed with their error and make the exit code 1', () => {
  const input = ['{"id":"ok","prompt":"Hello"}', '{"id":"bad","prompt":"x","top_p":3}', `{"id":"huge","prompt":"${'word '.repeat(5000)}"}`].join('\n');
  const dry = runCli(['-', '-m', modelDir, '--dry-run'], { input });
  expect(dry.status).toBe(1);
  const lines = new Map(parseJsonl(dry.stdout).map((r) => [r.id, r]));
  expect(lines.get('ok')).toMatchObject({ prompt_tokens: expect.any(Number) });
  expect(lines.get('bad')).toMatchObject({ error: { code: 'invalid_field' } });
  expect(lines.get('huge')).toMatchObject({ error: { code: 'prompt_over_context' } });
});
