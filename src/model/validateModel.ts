/**
 * Checks, before any weights are loaded, that a folder holds what the runner can drive: a Qwen3-style causal LM
 * (config.json), its tokenizer files, and a decoder graph with the inputs/outputs the runner feeds and reads.
 * Every refusal names what is wrong and what was expected; doubtful-but-workable cases become warnings.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { GraphInfo, inspectGraph, TensorInfo } from './graphInfo';

/** model_type values run without comment. */
export const QWEN3_MODEL_TYPES: readonly string[] = ['qwen3'];
/** Same decoder I/O, chat template and tokenizer family: run, with a warning that qwen-gen targets Qwen3. */
export const TOLERATED_MODEL_TYPES: readonly string[] = ['qwen2', 'qwen3_moe'];

export const REQUIRED_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** Inputs the runner knows how to feed; any other graph input cannot be satisfied. */
const FED_INPUTS = /^(input_ids|attention_mask|position_ids|num_logits_to_keep|past_key_values\.\d+\.(key|value))$/;
const PAST = /^past_key_values\.(\d+)\.(key|value)$/;
const PRESENT = /^present\.(\d+)\.(key|value)$/;
const INTEGER_INPUTS = ['input_ids', 'attention_mask', 'position_ids'];
const KV_DTYPES = ['float32', 'float16'];

export interface ModelValidation {
  modelType: string;
  graph: GraphInfo;
  warnings: string[];
}

export class ModelValidationError extends UserError {
  constructor(
    readonly dir: string,
    readonly problems: string[],
  ) {
    super(
      problems.length === 1
        ? `model folder ${dir} cannot be used: ${problems[0]}`
        : `model folder ${dir} cannot be used:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
    this.name = 'ModelValidationError';
  }
}

/**
 * Checks config.json, the tokenizer files and the graph `onnxFile` (relative to `dir`). Pass `graphInfo` when the
 * graph was already inspected. Throws ModelValidationError listing every problem found.
 */
export async function validateModelFolder(dir: string, onnxFile: string, graphInfo?: GraphInfo): Promise<ModelValidation> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const config = readConfig(dir, problems);
  const modelType = config ? checkConfig(config, problems, warnings) : '';
  for (const file of REQUIRED_TOKENIZER_FILES) {
    if (!fs.existsSync(path.join(dir, file))) {
      problems.push(`${file} is missing (expected the tokenizer files ${REQUIRED_TOKENIZER_FILES.join(' and ')} beside config.json)`);
    }
  }
  const onnxPath = path.join(dir, onnxFile);
  let graph = graphInfo;
  if (!graph) {
    if (!fs.existsSync(onnxPath)) {
      problems.push(`${onnxFile} is missing (expected the ONNX decoder graph there)`);
    } else {
      try {
        graph = await inspectGraph(onnxPath);
      } catch (error) {
        problems.push(`${onnxFile} is not a readable ONNX model (${(error as Error).message})`);
      }
    }
  }
  if (graph) {
    problems.push(...graphProblems(graph, onnxFile, path.dirname(onnxPath)));
    warnings.push(...graphWarnings(graph, config));
  }
  if (problems.length > 0 || !graph) throw new ModelValidationError(dir, problems);
  return { modelType, graph, warnings };
}

/** Only config.json: cheap enough to run before downloading a graph. Throws ModelValidationError. */
export function validateModelConfig(dir: string, config: Record<string, unknown>): { modelType: string; warnings: string[] } {
  const problems: string[] = [];
  const warnings: string[] = [];
  const modelType = checkConfig(config, problems, warnings);
  if (problems.length > 0) throw new ModelValidationError(dir, problems);
  return { modelType, warnings };
}

function readConfig(dir: string, problems: string[]): Record<string, unknown> | null {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) {
    problems.push('config.json is missing (expected a Hugging Face model folder: config.json, tokenizer.json, tokenizer_config.json, onnx/model*.onnx)');
    return null;
  }
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    problems.push('config.json is not a JSON object');
  } catch (error) {
    problems.push(`config.json is not valid JSON (${(error as Error).message})`);
  }
  return null;
}

function checkConfig(config: Record<string, unknown>, problems: string[], warnings: string[]): string {
  const modelType = typeof config.model_type === 'string' ? config.model_type : '';
  const accepted = `model_type ${QWEN3_MODEL_TYPES.join('/')} (${TOLERATED_MODEL_TYPES.join(', ')} accepted with a warning)`;
  if (!modelType) {
    problems.push(`config.json has no model_type (expected ${accepted})`);
  } else if (TOLERATED_MODEL_TYPES.includes(modelType)) {
    warnings.push(`config.json model_type is "${modelType}", not qwen3: the graph's inputs and outputs match, but chat template, special tokens and defaults are Qwen3's`);
  } else if (!QWEN3_MODEL_TYPES.includes(modelType)) {
    problems.push(`config.json model_type is "${modelType}": qwen-gen runs Qwen3-style causal language models (expected ${accepted})`);
  }
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  const nonCausal = architectures.filter((architecture) => !architecture.endsWith('ForCausalLM'));
  if (architectures.length > 0 && nonCausal.length === architectures.length) {
    problems.push(`config.json architectures is ${JSON.stringify(architectures)}: expected a causal LM with a language-model head (e.g. Qwen3ForCausalLM)`);
  }
  return modelType;
}

function graphProblems(graph: GraphInfo, onnxFile: string, onnxDir: string): string[] {
  const problems: string[] = [];
  const inputs = new Map(graph.inputs.map((input) => [input.name, input]));
  const outputs = new Map(graph.outputs.map((output) => [output.name, output]));
  const expectedIo = 'inputs input_ids, attention_mask, position_ids, past_key_values.{i}.key/value; outputs logits, present.{i}.key/value';

  if (!inputs.has('input_ids')) problems.push(`${onnxFile} has no input_ids input (a decoder graph takes ${expectedIo})`);
  for (const name of INTEGER_INPUTS) {
    const input = inputs.get(name);
    if (input && input.dtype !== 'int64') problems.push(`${onnxFile} input ${name} is ${input.dtype}; the runner feeds int64`);
  }
  const unfed = graph.inputs.map((input) => input.name).filter((name) => !FED_INPUTS.test(name));
  if (unfed.length > 0) {
    problems.push(`${onnxFile} has inputs the runner cannot feed: ${unfed.join(', ')} (it feeds input_ids, attention_mask, position_ids, num_logits_to_keep and past_key_values.{i}.key/value)`);
  }
  if (!outputs.has('logits')) {
    problems.push(`${onnxFile} has no logits output (outputs are ${describe(graph.outputs)}; expected logits and present.{i}.key/value)`);
  }

  const past = layerPairs(graph.inputs, PAST);
  const present = layerPairs(graph.outputs, PRESENT);
  if (past.layers.length === 0) {
    problems.push(`${onnxFile} has no past_key_values.{i}.key/value inputs: the runner needs a graph exported with a KV cache (${expectedIo})`);
  }
  if (present.layers.length === 0) {
    problems.push(`${onnxFile} has no present.{i}.key/value outputs: the runner needs a graph exported with a KV cache (${expectedIo})`);
  }
  problems.push(...pairProblems(onnxFile, 'past_key_values', past), ...pairProblems(onnxFile, 'present', present));
  if (past.layers.length > 0 && present.layers.length > 0 && past.layers.join() !== present.layers.join()) {
    problems.push(`${onnxFile} has past_key_values for layers ${past.layers.join(',')} but present for layers ${present.layers.join(',')} (expected the same layers)`);
  }
  const kvTensors = [...graph.inputs.filter((t) => PAST.test(t.name)), ...graph.outputs.filter((t) => PRESENT.test(t.name))];
  const badKv = kvTensors.filter((tensor) => !KV_DTYPES.includes(tensor.dtype));
  if (badKv.length > 0) problems.push(`${onnxFile} has KV tensors of type ${badKv[0].dtype} (${badKv[0].name}); expected float32 or float16`);

  const missingData = graph.externalData.files.filter((file) => !fs.existsSync(path.join(onnxDir, file)));
  if (missingData.length > 0) {
    problems.push(`${onnxFile} keeps weights in external data ${missingData.join(', ')}, which ${missingData.length === 1 ? 'is' : 'are'} not in ${path.posix.dirname(onnxFile)}/`);
  }
  return problems;
}

function graphWarnings(graph: GraphInfo, config: Record<string, unknown> | null): string[] {
  const layers = config?.num_hidden_layers;
  if (typeof layers === 'number' && graph.numLayers > 0 && graph.numLayers !== layers) {
    return [`the graph has ${graph.numLayers} layers of past_key_values but config.json says num_hidden_layers ${layers}: the graph is used as it is`];
  }
  return [];
}

interface LayerPairs {
  layers: number[];
  unpaired: string[];
}

function layerPairs(tensors: TensorInfo[], pattern: RegExp): LayerPairs {
  const kinds = new Map<number, Set<string>>();
  for (const tensor of tensors) {
    const match = pattern.exec(tensor.name);
    if (!match) continue;
    const layer = Number(match[1]);
    const set = kinds.get(layer) ?? new Set<string>();
    set.add(match[2]);
    kinds.set(layer, set);
  }
  const layers = [...kinds.keys()].sort((a, b) => a - b);
  const unpaired = layers.filter((layer) => kinds.get(layer)?.size !== 2).map((layer) => `${layer}.${kinds.get(layer)?.has('key') ? 'value' : 'key'}`);
  return { layers, unpaired };
}

function pairProblems(onnxFile: string, prefix: string, pairs: LayerPairs): string[] {
  const problems: string[] = [];
  if (pairs.unpaired.length > 0) problems.push(`${onnxFile} lacks ${pairs.unpaired.map((name) => `${prefix}.${name}`).join(', ')} (expected a key and a value per layer)`);
  const gaps = pairs.layers.filter((layer, index) => layer !== index);
  if (gaps.length > 0) problems.push(`${onnxFile} ${prefix} layers are ${pairs.layers.join(',')} (expected 0..${pairs.layers.length - 1} without gaps)`);
  return problems;
}

function describe(tensors: TensorInfo[]): string {
  const names = tensors.map((tensor) => tensor.name);
  return names.length > 6 ? `${names.slice(0, 6).join(', ')}, … (${names.length})` : names.join(', ') || 'none';
}
