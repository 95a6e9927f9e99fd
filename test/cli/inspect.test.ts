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
