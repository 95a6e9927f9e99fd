import { JsonObject, ModelFolder } from './modelFolder';

/** One config file's say on a token setting, kept so diagnostics can show every source and their disagreement. */
export interface TokenSource {
  file: string;
  key: string;
  value: number[] | null;
}

export interface SpecialTokens {
  /** Ids that end generation (generation_config.json first, as Hugging Face does). */
  eosTokenIds: number[];
  /** The pad id the configs declare, or null when none does. */
  padTokenId: number | null;
  eosSources: TokenSource[];
  padSources: TokenSource[];
}

function ids(value: unknown): number[] | null {
  if (typeof value === 'number' && Number.isInteger(value)) return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isInteger(v))) return value as number[];
  return null;
}

function tokenizerTokenId(tokenizerConfig: JsonObject | null, key: string, vocabLookup: (token: string) => number | undefined): number[] | null {
  if (!tokenizerConfig) return null;
  const raw = tokenizerConfig[key];
  const content = typeof raw === 'string' ? raw : raw && typeof raw === 'object' ? (raw as { content?: unknown }).content : undefined;
  if (typeof content !== 'string') return null;
  const id = vocabLookup(content);
  return id === undefined ? null : [id];
}

export function readSpecialTokens(folder: ModelFolder, vocabLookup: (token: string) => number | undefined): SpecialTokens {
  const gen = folder.generationConfig;
  const eosSources: TokenSource[] = [
    { file: 'generation_config.json', key: 'eos_token_id', value: gen ? ids(gen.eos_token_id) : null },
    { file: 'config.json', key: 'eos_token_id', value: ids(folder.config.eos_token_id) },
    { file: 'tokenizer_config.json', key: 'eos_token', value: tokenizerTokenId(folder.tokenizerConfig, 'eos_token', vocabLookup) },
  ];
  const padSources: TokenSource[] = [
    { file: 'generation_config.json', key: 'pad_token_id', value: gen ? ids(gen.pad_token_id) : null },
    { file: 'config.json', key: 'pad_token_id', value: ids(folder.config.pad_token_id) },
    { file: 'tokenizer_config.json', key: 'pad_token', value: tokenizerTokenId(folder.tokenizerConfig, 'pad_token', vocabLookup) },
  ];
  const first = (sources: TokenSource[]) => sources.find((s) => s.value && s.value.length > 0)?.value ?? null;
  return {
    eosTokenIds: first(eosSources) ?? [],
    padTokenId: first(padSources)?.[0] ?? null,
    eosSources,
    padSources,
  };
}
