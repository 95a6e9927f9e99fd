import { RuntimeChoice } from '../../runtime/createRunner';
import { runtimeOption } from '../runtimeOption';
import { GQA_NEEDS_RIGHT_PADDING } from '../../attentionKind';
import { Command, Option } from 'commander';
import { colorLevel } from '../../diagnostics/colorLevel';
import { Finding } from '../../diagnostics/finding';
import { DEFAULT_FAIL_ON, FAIL_ON_LEVELS, FailOn } from '../../diagnostics/gate';
import { githubAnnotations, shouldAnnotate } from '../../diagnostics/githubAnnotations';
import { ModelDescription, TokenDescription } from '../../diagnostics/modelDescription';
import { Report } from '../../diagnostics/report';
import { TensorInfo } from '../../model/graphInfo';
import { inspectModel } from '../../api/inspect';
import { parseDtype } from '../../model/dtype';
import { addModelSourceOptions, ModelSourceCliOptions } from '../modelSourceOptions';
import chalk from 'chalk';

/** Where inspect writes; tests pass their own. */
export interface InspectIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  stdoutIsTTY: boolean;
  setExitCode(code: number): void;
}

const processIo: InspectIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  get env() {
    return process.env;
  },
  get stdoutIsTTY() {
    return Boolean(process.stdout.isTTY);
  },
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

interface InspectCliOptions extends ModelSourceCliOptions {
  json?: boolean;
  failOn: FailOn;
  runtime: RuntimeChoice;
}

export function registerInspect(program: Command, io: InspectIo = processIo): void {
  const command = program
    .command('inspect')
    .description("Print a model's attention kind, padding protocol, I/O, dims, special tokens and model-level findings, without generating.")
    .argument('<model>', '"tiny" (the built-in model), a model folder or a hub id');
  addModelSourceOptions(command)
    .addOption(runtimeOption())
    .option('--json', 'print the report JSON (docs/report-schema.json, with figures and settings null)')
    .addOption(new Option('--fail-on <level>', 'exit 1 when a finding at this severity or above exists').choices([...FAIL_ON_LEVELS]).default(DEFAULT_FAIL_ON))
    .action(async (spec: string, options: InspectCliOptions) => {
      const report = await inspectModel(spec, options.failOn, {
        dtype: parseDtype(options.dtype),
        modelArgument: 'argument',
        revision: options.revision,
        offline: options.offline,
        hubUrl: options.hubUrl,
        runtime: options.runtime,
      });
      if (options.json) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      else io.stdout(renderInspection(report, { color: colorLevel(io.env, io.stdoutIsTTY) > 0 }));
      if (shouldAnnotate(io.env)) for (const line of githubAnnotations(report.findings)) io.stderr(`${line}\n`);
      io.setExitCode(report.exit.code);
    });
}

export { inspectModel };

/** The human text of `inspect`: the model's facts, then its findings. */
export function renderInspection(report: Report, options: { color: boolean }): string {
  const c = new chalk.Instance({ level: options.color ? 1 : 0 });
  const m = report.model;
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${c.bold(label.padEnd(14))}${value}`);

  lines.push(c.bold(`qwen-gen inspect ${m.spec}`) + (m.dir !== m.spec ? ` (${m.dir})` : ''), '');
  row('model', `${m.model_type ?? 'unknown model_type'}, ${dimsText(m)}`);
  row('graph', `${m.onnx_file}, ${megabytes(m.graph.file_bytes)}${m.graph.external_data_bytes > 0 ? ` + ${megabytes(m.graph.external_data_bytes)} external data` : ''}`);
  row('attention', attentionText(m));
  if (m.attention === 'gqa') {
    lines.push(
      `${' '.repeat(14)}${c.yellow("left-padded batching (e.g. transformers.js's text-generation pipeline) gives wrong results on this model")}`,
    );
  }
  row('rotary', m.rotary);
  row('kv cache', `${m.kv_dtype}, ${m.graph.layers} layers`);
  row('padding', `${m.protocol.description} (qwen-gen's protocol for this graph)`);
  row('runtime', runtimeText(m));
  if (m.runtime.session_options) row('session', sessionText(m.runtime.session_options));
  if (m.derived_graph !== undefined) {
    const d = m.derived_graph;
    row('derived graph', d === null ? 'disabled (--no-derived-graph): the file runs as it is' : d.file === null ? `none: ${d.reason ?? 'no rewrite applies'}` : d.file);
    for (const rewrite of d?.rewrites ?? []) lines.push(`${' '.repeat(14)}${rewrite.name}: ${rewrite.detail}`);
  }
  row('context', Number.isSafeInteger(m.context_length + 1) ? `${m.context_length} tokens (max_position_embeddings)` : 'unknown (config.json has no max_position_embeddings)');
  lines.push(c.bold('inputs'));
  lines.push(...tensorLines(m.graph.inputs ?? []));
  lines.push(c.bold('outputs'));
  lines.push(...tensorLines(m.graph.outputs ?? []));

  const t = m.special_tokens;
  row('eos', t.eos.length > 0 ? t.eos.map(token).join(', ') : 'none');
  row('pad', t.pad ? token(t.pad) : `none (qwen-gen fills pads with ${token(t.fill)}; the mask hides them)`);
  row('chat eos', t.chat_eos ? token(t.chat_eos) : 'none');
  row('padding_side', t.tokenizer_padding_side ? `"${t.tokenizer_padding_side}" (tokenizer_config.json)` : 'not set in tokenizer_config.json (tokenizers default to right)');
  lines.push(c.bold('token sources'));
  for (const source of [...t.eos_sources, ...t.pad_sources]) {
    lines.push(`  ${`${source.file} ${source.key}`.padEnd(36)} ${source.value === null ? 'not set' : `[${source.value.join(', ')}]`}`);
  }

  lines.push('', c.bold(`findings (${report.findings.length})`));
  if (report.findings.length === 0) lines.push('  none');
  for (const finding of report.findings) lines.push(...findingLines(finding, c));
  return `${lines.join('\n')}\n`;
}

function dimsText(m: ModelDescription): string {
  const d = m.dims;
  const show = (value: number | null) => (value === null ? '?' : String(value));
  return (
    `${show(d.layers)} layers, hidden ${show(d.hidden_size)}, ${show(d.heads)} heads / ${show(d.kv_heads)} kv heads, ` +
    `head_dim ${show(d.head_dim)}, intermediate ${show(d.intermediate_size)}, vocab ${m.vocab_size}`
  );
}

function runtimeText(m: ModelDescription): string {
  const r = m.runtime;
  const name = r.name === 'direct' ? `direct (onnxruntime ${r.onnxruntime_version} C API)` : `onnxruntime-node ${r.onnxruntime_version}`;
  return `${name}: ${r.kv_handling}${r.fallback_reason ? ` — direct runtime not used: ${r.fallback_reason}` : ''}`;
}

function sessionText(o: NonNullable<ModelDescription['runtime']['session_options']>): string {
  const spinning = o.intra_op_spinning === null ? "onnxruntime's default (on)" : o.intra_op_spinning ? 'on' : 'off';
  const threads = o.threads === 0 ? "onnxruntime's default (one per physical core)" : String(o.threads);
  return `prepacking ${o.prepacking ? 'on' : 'off'}, intra-op spinning ${spinning}, intra-op threads ${threads}`;
}

function attentionText(m: ModelDescription): string {
  if (m.attention === 'gqa') return GQA_NEEDS_RIGHT_PADDING;
  return 'plain (standard ONNX ops, the mask applied inside the graph): correct with left or right padding';
}

/** Per-layer KV tensors of one dtype and shape are folded into one line: `past_key_values.{0..27}.key|value`. */
function tensorLines(tensors: TensorInfo[]): string[] {
  const kv = /^(past_key_values|present)\.(\d+)\.(key|value)$/;
  const groups = new Map<string, { prefix: string; layers: number[]; kinds: string[]; sample: TensorInfo }>();
  const rows: (TensorInfo | string)[] = [];
  for (const tensor of tensors) {
    const match = kv.exec(tensor.name);
    if (!match) {
      rows.push(tensor);
      continue;
    }
    const key = `${match[1]}|${tensor.dtype}|${tensor.dims.join(',')}`;
    let group = groups.get(key);
    if (!group) {
      group = { prefix: match[1], layers: [], kinds: [], sample: tensor };
      groups.set(key, group);
      rows.push(key);
    }
    if (!group.layers.includes(Number(match[2]))) group.layers.push(Number(match[2]));
    if (!group.kinds.includes(match[3])) group.kinds.push(match[3]);
  }
  const line = (name: string, tensor: TensorInfo) => `  ${name.padEnd(36)} ${tensor.dtype.padEnd(8)} [${tensor.dims.join(', ')}]`;
  return rows.map((row) => {
    if (typeof row !== 'string') return line(row.name, row);
    const group = groups.get(row) as { prefix: string; layers: number[]; kinds: string[]; sample: TensorInfo };
    const layers = group.layers.sort((a, b) => a - b);
    const range = layers.length > 1 ? `{${layers[0]}..${layers[layers.length - 1]}}` : String(layers[0]);
    return line(`${group.prefix}.${range}.${group.kinds.join('|')}`, group.sample);
  });
}

function token(t: TokenDescription): string {
  return t.text === null ? String(t.id) : `${t.id} ${JSON.stringify(t.text)}`;
}

function findingLines(finding: Finding, c: chalk.Chalk): string[] {
  const paint = finding.severity === 'error' ? c.red.bold : finding.severity === 'warning' ? c.yellow : c.cyan;
  return [`  ${paint(finding.severity.padEnd(7))} ${c.bold(finding.code)}: ${finding.message}`, `  ${' '.repeat(7)} action: ${finding.action}`];
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
