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
  const planMatch = /planned: (\d+) prefill groups? at batch size ≤ 4 .*?, (\d+) prefill steps?,/.exec(dry.stderr);
  expect(planMatch).not.toBeNull();
  expect(dry.stderr).toMatch(/dry run: 13 requests to run; \d+ prompt tokens, at most \d+ completion tokens; nothing generated/);
  expect(dry.stderr).toMatch(/memory: budget \d+ MB; KV \d+ bytes per token; prefill ≤ \d+ tokens per step; cache ≤ \d+ tokens/);
  expect(dry.stderr).toContain('empty_prompt'); // diagnostics ran

  const records = new Map(parseJsonl(real.stdout).map((r) => [r.id, r]));
  for (const line of planned) {
    const record = records.get(line.id) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(line.prompt_tokens).toBe(record.usage.prompt_tokens);
    expect(line.max_tokens).toBe(record.usage.completion_tokens); // --ignore-eos: every output runs to max_tokens
  }
  // With every output at max_tokens the plan is exact: the same prefill steps as the real run.
  expect(JSON.parse(fs.readFileSync(report, 'utf8')).figures.batches).toBe(Number(planMatch![2]));
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
  expect(dry.stderr).toMatch(/dry run: 1 request to run/);
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

test('--dry-run plans the prefix cache: the prompt tokens it says a run computes are what the run computes', () => {
  const system = 'You are a careful assistant for a batch job. Answer in one short sentence and never repeat the question back to the user.';
  const docA = 'Document A: the history of Roman roads, their stone bridges and the milestones along them, told for a student.';
  const docB = 'Document B: the chemistry of baking bread at home, from flour and water to the crust, explained for a beginner.';
  const line = (id: string, user: string) => JSON.stringify({ id, messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
  const input = [
    line('a1', `${docA} Question: who built them?`), line('a2', `${docA} Question: how long are they?`),
    line('b1', `${docB} Question: why does dough rise?`), line('b2', `${docB} Question: salt?`),
    line('q1', 'Name three prime numbers.'), JSON.stringify({ id: 'alone', prompt: 'Nothing shared here.' }),
  ].join('\n');
  const args = ['-', '-m', modelDir, '--greedy', '--max-tokens', '3', '--ignore-eos'];
  const dry = runCli([...args, '--dry-run'], { input });
  expect(dry.status).toBe(0);
  const plan = /prefix cache: (\d+) prompt\(s\) start from a shared prefix; (\d+) of (\d+) prompt tokens to compute \((\d+) reused/.exec(dry.stderr);
  expect(plan).not.toBeNull();
  const [sharing, computed, total, reused] = plan!.slice(1).map(Number);
  expect(sharing).toBe(5);
  expect(total).toBe(parseJsonl(dry.stdout).reduce((sum, r) => sum + (r.prompt_tokens as number), 0));
  expect(computed + reused).toBe(total);

  const report = path.join(work, 'prefix-plan.json');
  const real = runCli([...args, '--report', report], { input });
  expect(real.status).toBe(0);
  const figures = JSON.parse(fs.readFileSync(report, 'utf8')).figures.prefix_cache;
  expect(figures).toMatchObject({ prompt_tokens_computed: computed, prompt_tokens_reused: reused });
  expect(reused).toBeGreaterThan(100);

  const off = runCli([...args, '--dry-run', '--no-prefix-cache'], { input });
  expect(off.stderr).toContain('prefix cache: off (--no-prefix-cache)');
});
