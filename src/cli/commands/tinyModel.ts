import { GQA_NEEDS_RIGHT_PADDING } from '../../attentionKind';
import { Command, Option } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { checkWrittenPaths } from '../../output/outputPaths';
import { UserError } from '../../errors';
import { DTYPE_NAMES, DtypeName, isDtypeName } from '../../dtypeFiles';
import {
  DEFAULT_GQA_ROTARY,
  DEFAULT_TINY_OPTIONS,
  GQA_ROTARIES,
  GqaRotary,
  KV_DTYPES,
  KvDtype,
  TINY_ATTENTIONS,
  TinyAttention,
  TINY_QUANTIZATIONS,
  TinyModelOptions,
  TinyQuantization,
  buildTinyModel,
  formatOfDtype,
  resolveTinyOptions,
} from '../../tinymodel';
import { GgufTensorType, ggufShapeProblem, parseGgufTypes, writeTinyModelGguf } from '../../tinymodel/gguf';

const numericOptions = [
  ['seed', '--seed <n>', 'weights seed'],
  ['layers', '--layers <n>', 'decoder layers'],
  ['hiddenSize', '--hidden-size <n>', 'hidden size'],
  ['heads', '--heads <n>', 'attention heads'],
  ['kvHeads', '--kv-heads <n>', 'key/value heads (must divide --heads)'],
  ['headDim', '--head-dim <n>', 'head dimension (even)'],
  ['intermediateSize', '--intermediate-size <n>', 'MLP intermediate size'],
  ['vocabSize', '--vocab-size <n>', 'vocabulary size (at least the Qwen3 tokenizer size)'],
  ['maxPositionEmbeddings', '--max-position-embeddings <n>', 'max_position_embeddings in config.json'],
] as const;

/** Commander's values: the typed text, or the numeric default when the flag is absent. */
type NumericOptionKey = (typeof numericOptions)[number][0];
type TinyModelCliOptions = Record<NumericOptionKey, string | number> & {
  logitsToKeep?: boolean;
  attention: TinyAttention;
  rotary?: GqaRotary;
  kvDtype: KvDtype;
  quantize?: TinyQuantization;
  dtype?: string;
  variants?: string;
  overwrite?: boolean;
  gguf?: string;
};

export function registerTinyModel(program: Command): void {
  const command = program
    .command('tiny-model')
    .description('Write a deterministic random-weight Qwen3 ONNX model folder (for tests, demos and CI smoke tests).')
    .argument('<dir>', 'output folder (created if missing; an existing one that is not empty needs --overwrite)');
  for (const [key, flags, description] of numericOptions) {
    command.addOption(new Option(flags, description).default(DEFAULT_TINY_OPTIONS[key]));
  }
  command
    .option('--logits-to-keep', 'add the num_logits_to_keep input (logits for the last k positions only)')
    .addOption(
      new Option('--attention <kind>', `plain ONNX ops, or gqa: fused RMSNorms and ${GQA_NEEDS_RIGHT_PADDING}`)
        .choices(TINY_ATTENTIONS)
        .default(DEFAULT_TINY_OPTIONS.attention),
    )
    .addOption(
      new Option(
        '--rotary <form>',
        `gqa only: a separate RotaryEmbedding op fed by position_ids, or GQA's own do_rotary (default ${DEFAULT_GQA_ROTARY})`,
      ).choices(GQA_ROTARIES),
    )
    .addOption(
      new Option('--kv-dtype <type>', 'past/present KV cache type of float32-weight graphs (float16-weight graphs always use float16)')
        .choices(KV_DTYPES)
        .default(DEFAULT_TINY_OPTIONS.kvDtype),
    )
    .addOption(
      new Option(
        '--quantize <format>',
        'quantize the linear projections: q4 (MatMulNBits), q8/int8/uint8 (dynamic 8-bit, MatMulInteger), bnb4 (MatMulBnb4 NF4)',
      ).choices(TINY_QUANTIZATIONS),
    )
    .option(
      '--dtype <name>',
      `the graph's transformers.js dtype, written as onnx/model{suffix}.onnx: ${DTYPE_NAMES.join(', ')} (with --quantize: fp32 or fp16)`,
    )
    .option('--variants <list>', 'several dtype graphs into the same folder, e.g. fp32,q4,q8 (instead of --dtype/--quantize)')
    .option('--gguf <types>', 'also write the same weights for llama.cpp as gguf/model-<TYPE>.gguf: f32, f16, q8_0, q4_0 (comma-separated)')
    .option('--overwrite', 'replace the model files of an existing model folder (onnx/, configs, tokenizer files)')
    .action(async (dir: string, cli: TinyModelCliOptions) => {
      const options = parseOptions(cli);
      const gguf = cli.gguf === undefined ? [] : parseGguf(cli.gguf, options);
      prepareFolder(dir, cli.overwrite === true);
      const started = Date.now();
      const info = await buildTinyModel(path.resolve(dir), options);
      const ggufFiles = await writeTinyModelGguf(info.dir, options, gguf);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const size = `${(info.bytes / 1e6).toFixed(1)} MB${info.externalDataPath ? ', external data' : ''}`;
      const graphs = info.graphs.length > 1 || info.graphs[0].dtype !== 'fp32'
        ? `; ${info.graphs.map((graph) => `${graph.dtype} ${path.relative(info.dir, graph.onnxPath).split(path.sep).join('/')}`).join(', ')}`
        : '';
      const ggufNote = ggufFiles.length > 0 ? `; gguf ${ggufFiles.map((file) => path.relative(info.dir, file.path).split(path.sep).join('/')).join(', ')}` : '';
      process.stderr.write(`tiny-model: wrote ${info.dir} (${size}${graphs}${ggufNote}) in ${seconds} s\n`);
    });
}

/** The files the builder writes at a model folder's top level (besides onnx/). */
const MODEL_FOLDER_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * The output rule of every qwen-gen output: a new or empty folder is written; an existing model folder only with
 * --overwrite, which removes the model files first (a variant left over from an earlier build would mislead); a file, or
 * a folder that holds other things, is refused.
 */
function prepareFolder(dir: string, overwrite: boolean): void {
  checkWrittenPaths([{ path: dir, label: `tiny-model ${dir}`, kind: 'folder', mayReplace: overwrite, existsHint: 'add --overwrite to replace the model in it' }]);
  if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0) return;
  const isModelFolder = fs.existsSync(path.join(dir, 'config.json')) || fs.existsSync(path.join(dir, 'onnx'));
  if (!isModelFolder) {
    throw new UserError(`tiny-model ${dir}: the folder holds other files and no model (no config.json or onnx/); choose a new or empty folder`);
  }
  for (const folder of ['onnx', 'gguf']) fs.rmSync(path.join(dir, folder), { recursive: true, force: true });
  for (const file of MODEL_FOLDER_FILES) fs.rmSync(path.join(dir, file), { force: true });
}

function parseOptions(cli: TinyModelCliOptions): Partial<TinyModelOptions> {
  if (cli.rotary !== undefined && cli.attention !== 'gqa') {
    throw new UserError(`tiny-model: --rotary applies only to --attention gqa (got --attention ${cli.attention})`);
  }
  const options: Partial<TinyModelOptions> = {
    withLogitsToKeep: Boolean(cli.logitsToKeep),
    attention: cli.attention,
    kvDtype: cli.kvDtype,
  };
  if (cli.rotary !== undefined) options.rotary = cli.rotary;
  Object.assign(options, graphFileOptions(cli));
  for (const [key, flags] of numericOptions) {
    const text = String(cli[key]).trim();
    const value = Number(text);
    const minimum = key === 'seed' ? 0 : 1;
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) {
      const kind = key === 'seed' ? 'a non-negative integer' : 'a positive integer';
      throw new UserError(`${flags.split(' ')[0]} must be ${kind} (got "${cli[key]}")`);
    }
    options[key] = value;
  }
  try {
    resolveTinyOptions(options);
  } catch (error) {
    throw new UserError(`tiny-model: ${withFlagNames((error as Error).message)}`);
  }
  return options;
}

/** --dtype, --quantize and --variants as builder options (absent when no flag is given: the default folder stays as it was). */
function graphFileOptions(cli: TinyModelCliOptions): Partial<TinyModelOptions> {
  if (cli.variants !== undefined) {
    if (cli.dtype !== undefined || cli.quantize !== undefined) {
      throw new UserError('tiny-model: --variants names every graph file; drop --dtype and --quantize');
    }
    const variants = cli.variants.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
    const unknown = variants.filter((name) => !isDtypeName(name));
    if (unknown.length || variants.length === 0) {
      throw new UserError(`tiny-model: --variants "${cli.variants}": expected a comma-separated list of ${DTYPE_NAMES.join(', ')}`);
    }
    return { variants: variants as DtypeName[] };
  }
  const options: Partial<TinyModelOptions> = {};
  if (cli.quantize !== undefined) options.quantize = cli.quantize;
  if (cli.dtype !== undefined) {
    const dtype = cli.dtype.trim().toLowerCase();
    if (!isDtypeName(dtype)) throw new UserError(`tiny-model: --dtype "${cli.dtype}" is not one of ${DTYPE_NAMES.join(', ')}`);
    if (cli.quantize === undefined) Object.assign(options, formatOfDtype(dtype));
    else if (dtype === 'fp32' || dtype === 'fp16') options.weightDtype = formatOfDtype(dtype).weightDtype;
    else throw new UserError(`tiny-model: --dtype ${dtype} already names its quantization; with --quantize use --dtype fp32 or fp16`);
  }
  return options;
}

/** --gguf's types, refused with the flag's name when unknown or when the shape does not fit the block formats. */
function parseGguf(list: string, options: Partial<TinyModelOptions>): GgufTensorType[] {
  let types: GgufTensorType[];
  try {
    types = parseGgufTypes(list);
  } catch (error) {
    throw new UserError(`tiny-model: --gguf: ${(error as Error).message}`);
  }
  const problem = ggufShapeProblem(options, types);
  if (problem) throw new UserError(`tiny-model: --gguf: ${problem}`);
  return types;
}

/** The builder's messages name options in camelCase; say the flag instead. */
function withFlagNames(message: string): string {
  const flagOf: [string, string][] = [
    ...numericOptions.map(([key, flags]): [string, string] => [key, flags.split(' ')[0]]),
    ['weightDtype', '--dtype'],
    ['quantize', '--quantize'],
  ];
  return flagOf.reduce((text, [key, flag]) => text.replace(new RegExp(`\\b${key}\\b`, 'g'), flag), message);
}
