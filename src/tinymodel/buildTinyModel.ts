import * as fs from 'fs';
import * as path from 'path';
import { writeModelFolderFiles } from './modelFolder';
import { OnnxGraphBuilder } from './onnxGraphBuilder';
import { buildQwen3GqaGraph } from './qwen3GqaGraph';
import { buildQwen3PlainGraph } from './qwen3PlainGraph';
import { generateWeight, qwen3WeightSpecs, totalWeightBytes } from './qwen3Weights';
import { TinyModelOptions, resolveTinyOptions } from './tinyModelOptions';
import { EmbeddedWeightSink, ExternalDataSink, WeightSink } from './weightSink';

/** Bump when the builder's output for the same options changes (invalidates cached tiny models). */
export const TINY_BUILDER_VERSION = 1;

export const MODEL_FILE = path.join('onnx', 'model.onnx');
export const EXTERNAL_DATA_FILE = path.join('onnx', 'model.onnx_data');

export interface TinyModelInfo {
  dir: string;
  onnxPath: string;
  /** The external data file, when the weights exceed `externalDataThresholdBytes`. */
  externalDataPath?: string;
  options: TinyModelOptions;
  /** Bytes of model.onnx plus model.onnx_data. */
  bytes: number;
  parameterCount: number;
}

/**
 * Writes a deterministic random-weight Qwen3 model folder into `dir` (created if missing):
 * onnx/model.onnx (+ model.onnx_data when large), config.json, generation_config.json, tokenizer files.
 */
export async function buildTinyModel(dir: string, overrides: Partial<TinyModelOptions> = {}): Promise<TinyModelInfo> {
  const options = resolveTinyOptions(overrides);
  const onnxPath = path.join(dir, MODEL_FILE);
  const dataPath = path.join(dir, EXTERNAL_DATA_FILE);
  fs.mkdirSync(path.dirname(onnxPath), { recursive: true });
  fs.rmSync(dataPath, { force: true }); // a stale data file from an earlier, larger build would mislead

  const specs = qwen3WeightSpecs(options);
  const weightBytes = totalWeightBytes(specs);
  const external = weightBytes > options.externalDataThresholdBytes;
  const sink: WeightSink = external ? new ExternalDataSink(dataPath) : new EmbeddedWeightSink();

  const builder = new OnnxGraphBuilder('qwen3_tiny');
  try {
    for (const spec of specs) {
      builder.addInitializer(sink.add(spec.name, spec.dims, generateWeight(spec, options.seed)));
      if (external) await yieldToEventLoop(); // long builds stay interruptible
    }
  } finally {
    sink.close();
  }
  if (options.attention === 'gqa') buildQwen3GqaGraph(builder, options);
  else buildQwen3PlainGraph(builder, options);
  fs.writeFileSync(onnxPath, builder.encode('qwen-gen tiny-model', docString(options)));
  writeModelFolderFiles(dir, options, TINY_BUILDER_VERSION);

  const bytes = fs.statSync(onnxPath).size + (external ? fs.statSync(dataPath).size : 0);
  return {
    dir,
    onnxPath,
    externalDataPath: external ? dataPath : undefined,
    options,
    bytes,
    parameterCount: weightBytes / 4,
  };
}

/** The default model's doc string is unchanged; variants name themselves. */
function docString(o: TinyModelOptions): string {
  const variant = [
    o.attention === 'gqa' ? `GroupQueryAttention, rotary ${o.rotary}` : '',
    o.kvDtype === 'float16' ? 'float16 KV cache' : '',
  ].filter(Boolean);
  return `Random-weight Qwen3 decoder, seed ${o.seed}${variant.length ? ` (${variant.join('; ')})` : ''}`;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
