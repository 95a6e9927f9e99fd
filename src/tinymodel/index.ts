export { buildTinyModel, TINY_BUILDER_VERSION, MODEL_FILE, EXTERNAL_DATA_FILE } from './buildTinyModel';
export type { TinyGraphInfo, TinyModelInfo } from './buildTinyModel';
export {
  DEFAULT_TINY_OPTIONS, DEFAULT_GQA_ROTARY, GQA_ROTARIES, KV_DTYPES, TINY_ATTENTIONS, resolveTinyOptions,
} from './tinyModelOptions';
export type { GqaRotary, KvDtype, TinyAttention, TinyModelOptions } from './tinyModelOptions';
export {
  BNB4_BLOCK_SIZE, Q4_BLOCK_SIZE, TINY_QUANTIZATIONS, WEIGHT_DTYPES, dtypeOfFormat, formatOfDtype, resolveGraphVariants,
} from './graphVariants';
export type { GraphVariant, LinearFormat, TinyQuantization, WeightDtype } from './graphVariants';
export { ensureTinyModel, tinyModelCacheDir } from './tinyModelCache';
export { qwen3Io } from './qwen3Io';
