import { resolveGraphVariants } from './graphVariants';
import {
  DEFAULT_GQA_ROTARY, DEFAULT_TINY_OPTIONS, GQA_ROTARIES, KV_DTYPES, QWEN3_TOKENIZER_SIZE, TINY_ATTENTIONS, TinyModelOptions,
} from './tinyModelOptions';

/** Fills defaults and checks the shape; throws an Error whose message names the bad option. */
export function resolveTinyOptions(overrides: Partial<TinyModelOptions> = {}): TinyModelOptions {
  const options: TinyModelOptions = { ...DEFAULT_TINY_OPTIONS, ...overrides };
  const positive: (keyof TinyModelOptions)[] = [
    'layers', 'hiddenSize', 'heads', 'kvHeads', 'headDim', 'intermediateSize', 'vocabSize', 'maxPositionEmbeddings',
  ];
  for (const key of positive) {
    const value = options[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`${key} must be a positive integer (got ${String(value)})`);
    }
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff) {
    throw new Error(`seed must be an integer in 0..4294967295 (got ${options.seed})`);
  }
  if (options.heads % options.kvHeads !== 0) {
    throw new Error(`heads (${options.heads}) must be a multiple of kvHeads (${options.kvHeads})`);
  }
  if (options.headDim % 2 !== 0) throw new Error(`headDim must be even for rotary embeddings (got ${options.headDim})`);
  if (options.vocabSize < QWEN3_TOKENIZER_SIZE) {
    throw new Error(`vocabSize must be at least ${QWEN3_TOKENIZER_SIZE}, the Qwen3 tokenizer's size (got ${options.vocabSize})`);
  }
  if (!(options.ropeTheta > 0) || !(options.rmsNormEps > 0)) throw new Error('ropeTheta and rmsNormEps must be positive');
  if (!(options.externalDataThresholdBytes >= 0)) throw new Error('externalDataThresholdBytes must be >= 0');
  resolveVariant(options);
  return options;
}

function resolveVariant(options: TinyModelOptions): void {
  const oneOf = <T extends string>(key: keyof TinyModelOptions, allowed: readonly T[]): void => {
    if (!allowed.includes(options[key] as T)) {
      throw new Error(`${key} must be one of ${allowed.join(', ')} (got ${String(options[key])})`);
    }
  };
  oneOf('attention', TINY_ATTENTIONS);
  oneOf('kvDtype', KV_DTYPES);
  if (options.attention === 'gqa') {
    options.rotary ??= DEFAULT_GQA_ROTARY;
    oneOf('rotary', GQA_ROTARIES);
  } else if (options.rotary !== undefined) {
    throw new Error(`rotary applies only to attention 'gqa' (got rotary ${String(options.rotary)} with attention ${options.attention})`);
  }
  resolveGraphVariants(options);
}
