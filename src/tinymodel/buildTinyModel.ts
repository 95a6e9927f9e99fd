import * as fs from 'fs';
import * as path from 'path';
import type { DtypeName } from '../dtypeFiles';
import { GraphVariant, resolveGraphVariants, usesGraphVariants } from './graphVariants';
import { writeModelFolderFiles } from './modelFolder';
import { OnnxGraphBuilder } from './onnxGraphBuilder';
import { buildQwen3GqaGraph } from './qwen3GqaGraph';
import { buildQwen3PlainGraph } from './qwen3PlainGraph';
import { WeightSpec, generateWeight, qwen3WeightSpecs, totalWeightBytes } from './qwen3Weights';
import { resolveTinyOptions } from './resolveTinyOptions';
import { TinyModelOptions } from './tinyModelOptions';
import { storeWeight } from './variantWeights';
import { EmbeddedWeightSink, ExternalDataSink, WeightSink } from './weightSink';

/** Bump when the builder's output for the same options changes (invalidates cached tiny models). */
export const TINY_BUILDER_VERSION = 1;

export const MODEL_FILE = path.join('onnx', 'model.onnx');
export const EXTERNAL_DATA_FILE = path.join('onnx', 'model.onnx_data');

/** One graph file of the folder. */
export interface TinyGraphInfo {
  /** The transformers.js dtype the file stands for. */
  dtype: DtypeName;
  onnxPath: string;
  /** `<graph>.onnx_data`, when the weights exceed `externalDataThresholdBytes`. */
  externalDataPath?: string;
  /** Bytes of the graph plus its external data. */
  bytes: number;
}

export interface TinyModelInfo {
  dir: string;
  /** The first (by default the only) graph written. */
  onnxPath: string;
  /** The first graph's external data file, when the weights exceed `externalDataThresholdBytes`. */
  externalDataPath?: string;
  options: TinyModelOptions;
  /** Bytes of every graph file plus its external data. */
  bytes: number;
  parameterCount: number;
  /** Every graph written, in the order of `options.variants` (one entry without it). */
  graphs: TinyGraphInfo[];
}

/**
 * Writes a deterministic random-weight Qwen3 model folder into `dir` (created if missing): the graph file(s)
 * (onnx/model.onnx by default; see graphVariants.ts for quantized and float16 variants), external data when large,
 * config.json, generation_config.json, tokenizer files.
 */
export async function buildTinyModel(dir: string, overrides: Partial<TinyModelOptions> = {}): Promise<TinyModelInfo> {
  const options = resolveTinyOptions(overrides);
  const variants = resolveGraphVariants(options);
  const specs = qwen3WeightSpecs(options);
  const graphs: TinyGraphInfo[] = [];
  for (const variant of variants) graphs.push(await writeGraph(dir, options, specs, variant));
  writeModelFolderFiles(dir, options, TINY_BUILDER_VERSION, transformersJsConfig(options, variants));
  return {
    dir,
    onnxPath: graphs[0].onnxPath,
    externalDataPath: graphs[0].externalDataPath,
    options,
    bytes: graphs.reduce((sum, graph) => sum + graph.bytes, 0),
    parameterCount: totalWeightBytes(specs) / 4,
    graphs,
  };
}

async function writeGraph(dir: string, options: TinyModelOptions, specs: WeightSpec[], variant: GraphVariant): Promise<TinyGraphInfo> {
  const onnxPath = path.join(dir, ...variant.fileName.split('/'));
  const dataPath = `${onnxPath}_data`;
  fs.mkdirSync(path.dirname(onnxPath), { recursive: true });
  fs.rmSync(dataPath, { force: true }); // a stale data file from an earlier, larger build would mislead

  // Decided on the float32 size: quantized and float16 graphs are smaller, so this errs towards external data.
  const external = totalWeightBytes(specs) > options.externalDataThresholdBytes;
  const sink: WeightSink = external ? new ExternalDataSink(dataPath) : new EmbeddedWeightSink();

  const builder = new OnnxGraphBuilder('qwen3_tiny');
  try {
    for (const spec of specs) {
      for (const tensor of storeWeight(sink, spec, generateWeight(spec, options.seed), variant)) builder.addInitializer(tensor);
      if (external) await yieldToEventLoop(); // long builds stay interruptible
    }
  } finally {
    sink.close();
  }
  if (options.attention === 'gqa') buildQwen3GqaGraph(builder, options, variant);
  else buildQwen3PlainGraph(builder, options, variant);
  fs.writeFileSync(onnxPath, builder.encode('qwen-gen tiny-model', docString(options, variant)));
  const bytes = fs.statSync(onnxPath).size + (external ? fs.statSync(dataPath).size : 0);
  return { dtype: variant.dtype, onnxPath, externalDataPath: external ? dataPath : undefined, bytes };
}

/**
 * transformers.js reads a graph's KV cache type from config.json (`kv_cache_dtype` per dtype, as in onnx-community
 * exports: {"fp16": "float16", "q4f16": "float16"}). Only written when graph-variant options are used, so the
 * default folder's config.json is unchanged.
 */
function transformersJsConfig(o: TinyModelOptions, variants: GraphVariant[]): Record<string, unknown> | undefined {
  const float16Kv = variants.filter((variant) => variant.kvDtype === 'float16');
  if (!usesGraphVariants(o) || float16Kv.length === 0) return undefined;
  return { 'transformers.js_config': { kv_cache_dtype: Object.fromEntries(float16Kv.map((variant) => [variant.dtype, 'float16'])) } };
}

/** The default model's doc string is unchanged; variants name themselves. */
function docString(o: TinyModelOptions, graph: GraphVariant): string {
  const linear = graph.linear;
  const variant = [
    o.attention === 'gqa' ? `GroupQueryAttention, rotary ${o.rotary}` : '',
    graph.kvDtype === 'float16' ? 'float16 KV cache' : '',
    graph.weightDtype === 'float16' ? 'float16 weights and logits' : '',
    linear.kind === 'matMulNBits' ? `${graph.dtype}: MatMulNBits ${linear.bits}-bit, block ${linear.blockSize}, symmetric` : '',
    linear.kind === 'dynamic8' ? `${graph.dtype}: dynamic quantization, ${linear.signed ? 'int8' : 'uint8'} weights per tensor` : '',
    linear.kind === 'bnb4' ? `${graph.dtype}: MatMulBnb4 NF4, block ${linear.blockSize}` : '',
  ].filter(Boolean);
  return `Random-weight Qwen3 decoder, seed ${o.seed}${variant.length ? ` (${variant.join('; ')})` : ''}`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
