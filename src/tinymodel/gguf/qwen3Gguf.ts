import * as fs from 'fs';
import * as path from 'path';
import { QWEN3_BOS_TOKEN_ID, QWEN3_EOS_TOKEN_ID, QWEN3_PAD_TOKEN_ID, qwen3TokenizerDir } from '../modelFolder';
import { WeightSpec, generateWeight, qwen3WeightNames, qwen3WeightSpecs } from '../qwen3Weights';
import { TinyModelOptions } from '../tinyModelOptions';
import { GgufTensorType, LLAMA_FTYPE, encodeTensor } from './ggmlTypes';
import { GgufWriter } from './ggufWriter';

/**
 * A builder model as llama.cpp reads it: architecture `qwen3`, the tensor names and metadata keys of llama.cpp's
 * convert_hf_to_gguf.py for Qwen3, the same seed's weights as the ONNX graphs (generateWeight is a function of
 * (seed, name) only). Layout: ONNX stores projections [in, out]; GGUF wants Hugging Face's [out, in] row-major, i.e.
 * ggml ne = [in, out]. qwen3 uses NEOX rotary, so q/k are not permuted. Embeddings are tied: no output.weight.
 * Every 2-D weight (the embedding included) gets the file's type — llama-quantize's `--pure` layout; without
 * `--pure` llama-quantize would store a tied embedding as Q6_K in a Q4_0 file. Norms stay F32, as converters keep them.
 */
export const GGUF_DIR = 'gguf';

export function ggufFileName(type: GgufTensorType): string {
  return `model-${type}.gguf`;
}

/** llama.cpp's token types (llama_token_type / gguf-py TokenType). */
const TOKEN_TYPE = Object.freeze({ NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 });

interface TokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens: { id: number; content: string; special: boolean }[];
}

export interface GgufTokenizer {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  chatTemplate?: string;
}

/**
 * The tokenizer metadata convert_hf_to_gguf.py writes for a byte-level BPE (gpt2) vocabulary: one string per id up to
 * the embedding's row count (ids the tokenizer does not use are `[PAD{id}]`, type UNUSED), added tokens CONTROL when
 * special or shaped like `<|...|>` and USER_DEFINED otherwise, merges as "left right".
 */
export function qwen3GgufTokenizer(vocabSize: number, tokenizerDir = qwen3TokenizerDir()): GgufTokenizer {
  const json = JSON.parse(fs.readFileSync(path.join(tokenizerDir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  if (json.model.type !== 'BPE') throw new Error(`GGUF export expects a BPE tokenizer (got ${json.model.type})`);
  const byId = new Map<number, { text: string; type: number }>();
  for (const [text, id] of Object.entries(json.model.vocab)) byId.set(id, { text, type: TOKEN_TYPE.NORMAL });
  for (const added of json.added_tokens) {
    const looksSpecial = added.content.startsWith('<|') && added.content.endsWith('|>');
    byId.set(added.id, { text: added.content, type: added.special || looksSpecial ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED });
  }
  const largest = [...byId.keys()].reduce((a, b) => Math.max(a, b), 0);
  if (largest >= vocabSize) throw new Error(`the tokenizer has id ${largest}, beyond the model's ${vocabSize} embedding rows`);
  const tokens: string[] = [];
  const tokenTypes: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const token = byId.get(id);
    tokens.push(token ? token.text : `[PAD${id}]`);
    tokenTypes.push(token ? token.type : TOKEN_TYPE.UNUSED);
  }
  const merges = json.model.merges.map((merge) => (Array.isArray(merge) ? merge.join(' ') : merge));
  const configPath = path.join(tokenizerDir, 'tokenizer_config.json');
  const config = fs.existsSync(configPath) ? (JSON.parse(fs.readFileSync(configPath, 'utf8')) as { chat_template?: unknown }) : {};
  return { tokens, tokenTypes, merges, chatTemplate: typeof config.chat_template === 'string' ? config.chat_template : undefined };
}

/** GGUF tensor names of the builder's weights (llama.cpp's LLM_TENSOR_NAMES for qwen3). */
export function ggufTensorName(weightName: string, layers: number): string {
  if (weightName === qwen3WeightNames.embedTokens) return 'token_embd.weight';
  if (weightName === qwen3WeightNames.finalNorm) return 'output_norm.weight';
  for (let i = 0; i < layers; i++) {
    const n = qwen3WeightNames.layer(i);
    const names: Record<string, string> = {
      [n.inputNorm]: 'attn_norm', [n.qProj]: 'attn_q', [n.kProj]: 'attn_k', [n.vProj]: 'attn_v', [n.oProj]: 'attn_output',
      [n.qNorm]: 'attn_q_norm', [n.kNorm]: 'attn_k_norm', [n.postAttentionNorm]: 'ffn_norm',
      [n.gateProj]: 'ffn_gate', [n.upProj]: 'ffn_up', [n.downProj]: 'ffn_down',
    };
    if (names[weightName]) return `blk.${i}.${names[weightName]}.weight`;
  }
  throw new Error(`no GGUF name for weight ${weightName}`);
}

/** ggml ne of a weight (innermost first): a projection's rows are its outputs, an embedding's its tokens. */
export function ggufShape(spec: WeightSpec): number[] {
  if (spec.kind === 'norm') return [spec.dims[0]];
  if (spec.kind === 'embedding') return [spec.dims[1], spec.dims[0]]; // [vocab, hidden]: rows stay rows
  return [spec.dims[0], spec.dims[1]]; // ONNX [in, out] read as [out, in] row-major
}

/** The weight's values in GGUF row-major order: projections transposed from ONNX's [in, out], the rest as they are. */
export function ggufValues(spec: WeightSpec, values: Float32Array): Float32Array {
  if (spec.kind !== 'projection') return values;
  const [inputs, outputs] = spec.dims;
  const transposed = new Float32Array(values.length);
  for (let i = 0; i < inputs; i++) {
    const row = i * outputs;
    for (let o = 0; o < outputs; o++) transposed[o * inputs + i] = values[row + o];
  }
  return transposed;
}

/** Writes the builder model described by `options` as one GGUF file whose 2-D weights are `type`. */
export async function writeQwen3Gguf(file: string, options: TinyModelOptions, type: GgufTensorType, tokenizerDir?: string): Promise<number> {
  const o = options;
  const tokenizer = qwen3GgufTokenizer(o.vocabSize, tokenizerDir);
  const writer = new GgufWriter()
    .string('general.architecture', 'qwen3')
    .string('general.type', 'model')
    .string('general.name', `qwen-gen tiny-model (random weights, seed ${o.seed})`)
    .uint32('general.file_type', LLAMA_FTYPE[type])
    .uint32('general.quantization_version', 2)
    .uint32('qwen3.context_length', o.maxPositionEmbeddings)
    .uint32('qwen3.embedding_length', o.hiddenSize)
    .uint32('qwen3.block_count', o.layers)
    .uint32('qwen3.feed_forward_length', o.intermediateSize)
    .uint32('qwen3.attention.head_count', o.heads)
    .uint32('qwen3.attention.head_count_kv', o.kvHeads)
    .uint32('qwen3.attention.key_length', o.headDim)
    .uint32('qwen3.attention.value_length', o.headDim)
    .float32('qwen3.rope.freq_base', o.ropeTheta)
    .float32('qwen3.attention.layer_norm_rms_epsilon', o.rmsNormEps)
    .string('tokenizer.ggml.model', 'gpt2')
    .string('tokenizer.ggml.pre', 'qwen2')
    .stringArray('tokenizer.ggml.tokens', tokenizer.tokens)
    .int32Array('tokenizer.ggml.token_type', tokenizer.tokenTypes)
    .stringArray('tokenizer.ggml.merges', tokenizer.merges)
    .uint32('tokenizer.ggml.eos_token_id', QWEN3_EOS_TOKEN_ID)
    .uint32('tokenizer.ggml.padding_token_id', QWEN3_PAD_TOKEN_ID)
    .uint32('tokenizer.ggml.bos_token_id', QWEN3_BOS_TOKEN_ID)
    .bool('tokenizer.ggml.add_bos_token', false);
  if (tokenizer.chatTemplate) writer.string('tokenizer.chat_template', tokenizer.chatTemplate);
  for (const spec of qwen3WeightSpecs(o)) {
    const tensorType: GgufTensorType = spec.kind === 'norm' ? 'F32' : type;
    writer.tensor(ggufTensorName(spec.name, o.layers), ggufShape(spec), tensorType, () =>
      encodeTensor(tensorType, ggufValues(spec, generateWeight(spec, o.seed))));
  }
  return writer.write(file);
}
