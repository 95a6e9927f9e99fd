import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { InspectIo, registerInspect, renderInspection } from '../../src/cli/commands/inspect';
import { checkJsonSchema, JsonSchema } from '../../src/diagnostics/jsonSchemaCheck';
import { buildTestModel } from '../helpers/testModels';

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../..', 'docs', 'report-schema.json'), 'utf8')) as JsonSchema;
const GQA_SENTENCE = "left-padded batching (e.g. transformers.js's text-generation pipeline) gives wrong results on this model";

interface Captured {
  stdout: string;
  stderr: string;
  exitCode?: number;
}

/** Runs `qwen-gen inspect ...args` through a commander program built here, capturing what it writes. */
async function inspect(args: string[], env: NodeJS.ProcessEnv = {}, stdoutIsTTY = false): Promise<Captured> {
  const captured: Captured = { stdout: '', stderr: '' };
  const io: InspectIo = {
    stdout: (text) => (captured.stdout += text),
    stderr: (text) => (captured.stderr += text),
    env,
    stdoutIsTTY,
    setExitCode: (code) => (captured.exitCode = code),
  };
  const program = new Command().exitOverride();
  registerInspect(program, io);
  await program.parseAsync(['inspect', ...args], { from: 'user' });
  return captured;
}

let plainDir: string;
let gqaDir: string;

beforeAll(async () => {
  plainDir = await buildTestModel('inspect-plain');
  gqaDir = await buildTestModel('inspect-gqa', { attention: 'gqa' });
});

describe('qwen-gen inspect (plain attention)', () => {
  let text: Captured;
  let json: Captured;
  beforeAll(async () => {
    text = await inspect([plainDir]);
    json = await inspect([plainDir, '--json', '--fail-on', 'warning'], { GITHUB_ACTIONS: 'true' });
  });

  test('prints attention kind, protocol, I/O with dtypes and dims, config dims and special tokens', () => {
    const out = text.stdout;
    expect(out).toMatch(/^attention +plain/m);
    expect(out).toMatch(/^padding +right padding, explicit attention_mask and position_ids, mask-aligned KV cache/m);
    expect(out).toMatch(/^ {2}input_ids +int64 +\[batch_size, sequence_length\]$/m);
    expect(out).toMatch(/^ {2}attention_mask +int64 +\[batch_size, total_sequence_length\]$/m);
    // The tiny model: 2 layers, kv_heads 2, head_dim 16 (DEFAULT_TINY_OPTIONS).
    expect(out).toMatch(/^ {2}past_key_values\.\{0\.\.1\}\.key\|value +float32 +\[batch_size, 2, past_sequence_length, 16\]$/m);
    expect(out).toMatch(/^ {2}logits +float32 +\[batch_size, sequence_length, 151936\]$/m);
    expect(out).toContain('2 layers, hidden 32, 4 heads / 2 kv heads, head_dim 16, intermediate 64, vocab 151936');
    expect(out).toMatch(/^eos +151645 "<\|im_end\|>", 151643 "<\|endoftext\|>"$/m);
    expect(out).toMatch(/^pad +151643 "<\|endoftext\|>"$/m);
    expect(out).toMatch(/^padding_side +not set/m);
  });

  test('prints the model-level findings with their actions; no GQA warning on a plain graph', () => {
    expect(text.stdout).toMatch(/info +pad_is_eos: pad token 151643/);
    expect(text.stdout).toMatch(/action: qwen-gen passes an explicit attention_mask/);
    expect(text.stdout).not.toContain('transformers.js');
    expect(text.stdout).not.toMatch(/\u001b\[/); // not a TTY: no colour
    expect(text.stderr).toBe('');
    expect(text.exitCode).toBe(0); // --fail-on error by default; the Qwen3 findings are warnings and infos
  });

  test('--json prints a report that validates against docs/report-schema.json', () => {
    const report = JSON.parse(json.stdout);
    expect(checkJsonSchema(report, schema)).toEqual([]);
    expect(report.figures).toBeNull();
    expect(report.settings).toBeNull();
    expect(report.model.attention).toBe('plain');
    expect(report.model.graph.inputs.map((i: { name: string }) => i.name)).toEqual([
      'input_ids', 'attention_mask', 'position_ids',
      'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value',
    ]);
    expect(report.model.special_tokens.pad).toEqual({ id: 151643, text: '<|endoftext|>' });
    expect(report.findings.map((f: { code: string }) => f.code)).toContain('pad_is_eos');
  });

  test('--fail-on warning passes on the mitigated pad/eos collision (a notice); GitHub annotations only under GITHUB_ACTIONS=true', () => {
    expect(json.exitCode).toBe(0);
    const annotations = json.stderr.trim().split('\n');
    expect(annotations.some((line) => /^::notice title=qwen-gen pad_is_eos%3A .*::pad token 151643/.test(line))).toBe(true);
    expect(annotations.every((line) => /^::(error|warning|notice) /.test(line))).toBe(true);
    expect(annotations).toHaveLength(JSON.parse(json.stdout).findings.length);
    expect(text.stderr).toBe(''); // the text run had no GITHUB_ACTIONS
  });

  test('colour only when asked (the command asks colorLevel: FORCE_COLOR, NO_COLOR, TTY)', () => {
    const report = JSON.parse(json.stdout);
    const coloured = renderInspection(report, { color: true });
    expect(coloured).toMatch(/\u001b\[/);
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(renderInspection(report, { color: false }));
  });
});

describe('qwen-gen inspect (GroupQueryAttention)', () => {
  test('names the kind and says left-padded batching gives wrong results on this model', async () => {
    const { stdout } = await inspect([gqaDir]);
    expect(stdout).toMatch(/^attention +GroupQueryAttention/m);
    expect(stdout).toContain(GQA_SENTENCE);
    expect(stdout).toMatch(/^padding +right padding, .* compacted KV cache/m);
    expect(stdout).toMatch(/info +gqa_left_padding_unsafe: /);
  });

  test('--json: attention gqa and the gqa_left_padding_unsafe finding', async () => {
    const report = JSON.parse((await inspect([gqaDir, '--json'])).stdout);
    expect(checkJsonSchema(report, schema)).toEqual([]);
    expect(report.model.attention).toBe('gqa');
    expect(report.model.graph.op_types['com.microsoft:GroupQueryAttention']).toBe(2);
    expect(report.findings.find((f: { code: string }) => f.code === 'gqa_left_padding_unsafe')?.severity).toBe('info');
  });
});

describe('qwen-gen inspect names the session options and the derived graph', () => {
  let quantizedDir: string;
  beforeAll(async () => {
    quantizedDir = await buildTestModel('inspect-quantized', { attention: 'gqa', variants: ['fp32', 'q4', 'q8'] });
  });

  test('q4: prepacking, accuracy level 4 on every MatMulNBits, the 8-bit lm_head, the derived file and what each rewrite did', async () => {
    const { stdout } = await inspect([quantizedDir, '--dtype', 'q4']);
    expect(stdout).toMatch(/^session +prepacking on, intra-op spinning off, intra-op threads onnxruntime's default/m);
    expect(stdout).toMatch(/^derived graph +onnx\/model_q4\.qwen-gen\.onnx$/m);
    expect(stdout).toMatch(/^ +matmulnbits_accuracy_level: accuracy_level 4 \(int8 compute\) on 14 MatMulNBits node\(s\) that had 14 at level 0$/m);
    expect(stdout).toMatch(/^ +gathered_logits: /m);
    expect(stdout).toMatch(/^ +quantized_lm_head: the float vocabulary projection \(151936 × 32\) runs as an 8-bit MatMulNBits/m);

    const report = JSON.parse((await inspect([quantizedDir, '--dtype', 'q4', '--json'])).stdout);
    expect(checkJsonSchema(report, schema)).toEqual([]);
    expect(report.model.runtime.session_options).toEqual({
      threads: 0,
      prepacking: true,
      intra_op_spinning: false,
      config_entries: { 'session.intra_op.allow_spinning': '0' },
    });
    expect(report.model.derived_graph.file).toBe('onnx/model_q4.qwen-gen.onnx');
    expect(report.model.derived_graph.rewrites.map((r: { name: string }) => r.name)).toEqual(['gathered_logits', 'matmulnbits_accuracy_level', 'quantized_lm_head']);
    // op_types are the user's file's: the rewrites are listed apart.
    expect(report.model.graph.op_types['com.microsoft:MatMulNBits']).toBe(14);
  });

  test('q8: per-row activation quantization, and batch_dependent_quantization as a mitigated info', async () => {
    const report = JSON.parse((await inspect([quantizedDir, '--dtype', 'q8', '--json'])).stdout);
    expect(checkJsonSchema(report, schema)).toEqual([]);
    expect(report.model.derived_graph.rewrites.find((r: { name: string }) => r.name === 'row_wise_activation_quantization')?.nodes).toBe(14);
    expect(report.model.graph.op_types.DynamicQuantizeLinear).toBe(14);
    const finding = report.findings.find((f: { code: string }) => f.code === 'batch_dependent_quantization');
    expect(finding?.severity).toBe('info');
    expect(finding?.action).toMatch(/quantizes each row with its own scale/);
  });

  test('QWEN_GEN_PREPACKING=0 is shown as prepacking off with its config entry', async () => {
    const saved = process.env.QWEN_GEN_PREPACKING;
    process.env.QWEN_GEN_PREPACKING = '0';
    try {
      const report = JSON.parse((await inspect([quantizedDir, '--dtype', 'q4', '--json'])).stdout);
      expect(report.model.runtime.session_options.prepacking).toBe(false);
      expect(report.model.runtime.session_options.config_entries).toEqual({ 'session.disable_prepacking': '1', 'session.intra_op.allow_spinning': '0' });
    } finally {
      if (saved === undefined) delete process.env.QWEN_GEN_PREPACKING;
      else process.env.QWEN_GEN_PREPACKING = saved;
    }
  });
});
