import { TokenSource } from '../model/specialTokens';
import { Finding } from './finding';
import { describeToken, ModelFacts, tokenText } from './modelFacts';

/** The warning transformers prints for the Qwen3 case; quoted in the evidence so searches for it land here. */
export const HF_PAD_IS_EOS_WARNING =
  'The attention mask is not set and cannot be inferred from input because pad token is same as eos token.';

/** Findings about the pad and eos tokens: collisions, absence, and config files that disagree. */
export function tokenFindings(model: ModelFacts): Finding[] {
  return [padIsEos(model), noPadToken(model), noEosToken(model), eosSourcesDisagree(model), padSourcesDisagree(model)].filter(
    (finding): finding is Finding => finding !== null,
  );
}

function padIsEos(model: ModelFacts): Finding | null {
  const { padTokenId, eosTokenIds, eosSources, padSources } = model.tokens;
  if (padTokenId === null) return null;
  const eosFilesWithPad = eosSources.filter((s) => s.value?.includes(padTokenId)).map((s) => `${s.file} ${s.key}`);
  if (!eosTokenIds.includes(padTokenId) && eosFilesWithPad.length === 0) return null;
  const several = eosTokenIds.length > 1;
  return {
    code: 'pad_is_eos',
    // Mitigated: qwen-gen's masks tell pads apart (or it runs unbatched). Other tools are the ones at risk.
    severity: 'info',
    message:
      `pad token ${describeToken(model, padTokenId)} is ${several ? 'one of the eos ids' : 'the eos id'} ` +
      `(eos: ${eosTokenIds.map((id) => describeToken(model, id)).join(', ')}): padding cannot be told apart from ` +
      'end-of-text by token ids, so batching without an explicit attention mask gives wrong rows.',
    evidence: {
      pad_token_id: padTokenId,
      pad_token: tokenText(model, padTokenId) ?? null,
      eos_token_ids: eosTokenIds,
      eos_tokens: eosTokenIds.map((id) => tokenText(model, id) ?? null),
      eos_sources_containing_pad: eosFilesWithPad,
      pad_sources: sourcesEvidence(model, padSources),
      eos_sources: sourcesEvidence(model, eosSources),
      transformers_warning: HF_PAD_IS_EOS_WARNING,
    },
    action: model.graph.hasAttentionMask
      ? 'qwen-gen passes an explicit attention_mask and position_ids on every step; pad positions are never read'
      : 'the graph takes no attention_mask, so qwen-gen runs it at batch size 1: no pads exist',
  };
}

function noPadToken(model: ModelFacts): Finding | null {
  if (model.tokens.padTokenId !== null) return null;
  return {
    code: 'no_pad_token',
    severity: 'info',
    message:
      'no pad token in generation_config.json, config.json or tokenizer_config.json: tools fall back to the eos token ' +
      '(transformers: "Setting `pad_token_id` to `eos_token_id`"), which makes pads look like end-of-text.',
    evidence: {
      pad_sources: sourcesEvidence(model, model.tokens.padSources),
      eos_token_ids: model.tokens.eosTokenIds,
      fill_token_id: model.fillTokenId,
    },
    action: `qwen-gen fills pad positions with ${describeToken(model, model.fillTokenId)} (the first eos id); the attention mask hides them`,
  };
}

function noEosToken(model: ModelFacts): Finding | null {
  if (model.tokens.eosTokenIds.length > 0) return null;
  return {
    code: 'no_eos_token',
    severity: 'warning',
    message: 'no eos token in generation_config.json, config.json or tokenizer_config.json: generation stops only at max_tokens or a stop string.',
    evidence: { eos_sources: sourcesEvidence(model, model.tokens.eosSources) },
    action: 'qwen-gen stops each request at its max_tokens, stop strings or stop_token_ids',
  };
}

function eosSourcesDisagree(model: ModelFacts): Finding | null {
  const { eosSources, eosTokenIds } = model.tokens;
  const declared = eosSources.filter((s) => s.value !== null && s.value.length > 0);
  if (new Set(declared.map((s) => idSetKey(s.value ?? []))).size <= 1) return null;
  const notStoppedOn = [...new Set(declared.flatMap((s) => s.value ?? []))].filter((id) => !eosTokenIds.includes(id));
  const used = declared[0];
  return {
    code: 'eos_sources_disagree',
    severity: notStoppedOn.length > 0 ? 'warning' : 'info',
    message: `config files disagree on the eos token: ${declared.map((s) => describeSource(model, s)).join('; ')}.`,
    evidence: {
      eos_sources: sourcesEvidence(model, eosSources),
      eos_token_ids: eosTokenIds,
      ignored_eos_ids: notStoppedOn,
    },
    action:
      `qwen-gen stops on ${used.file} ${used.key} [${eosTokenIds.join(', ')}] (the first file that sets it, as Hugging Face generate does)` +
      (notStoppedOn.length > 0 ? `; it does not stop on ${notStoppedOn.map((id) => describeToken(model, id)).join(', ')} (add them with stop_token_ids)` : ''),
  };
}

function padSourcesDisagree(model: ModelFacts): Finding | null {
  const declared = model.tokens.padSources.filter((s) => s.value !== null && s.value.length > 0);
  if (new Set(declared.map((s) => idSetKey(s.value ?? []))).size <= 1) return null;
  const used = declared[0];
  return {
    code: 'pad_sources_disagree',
    severity: 'info',
    message: `config files disagree on the pad token: ${declared.map((s) => describeSource(model, s)).join('; ')}.`,
    evidence: { pad_sources: sourcesEvidence(model, model.tokens.padSources), pad_token_id: model.tokens.padTokenId },
    action: `qwen-gen fills pads with ${used.file}'s ${describeToken(model, model.fillTokenId)}; the value never changes its results (pad positions are masked)`,
  };
}

function idSetKey(ids: number[]): string {
  return [...new Set(ids)].sort((a, b) => a - b).join(',');
}

function describeSource(model: ModelFacts, source: TokenSource): string {
  const ids = source.value ?? [];
  return `${source.file} ${source.key} = ${ids.length === 1 ? describeToken(model, ids[0]) : `[${ids.map((id) => describeToken(model, id)).join(', ')}]`}`;
}

/** Each source with its raw setting (tokenizer_config.json holds token strings) and the ids it resolves to. */
function sourcesEvidence(model: ModelFacts, sources: TokenSource[]): { file: string; key: string; raw: unknown; ids: number[] | null }[] {
  return sources.map((source) => ({ file: source.file, key: source.key, raw: rawSetting(model, source) ?? null, ids: source.value }));
}

function rawSetting(model: ModelFacts, source: TokenSource): unknown {
  const file =
    source.file === 'generation_config.json' ? model.folder.generationConfig
    : source.file === 'config.json' ? model.folder.config
    : model.folder.tokenizerConfig;
  const raw = file?.[source.key];
  if (raw && typeof raw === 'object' && !Array.isArray(raw) && 'content' in raw) return (raw as { content: unknown }).content;
  return raw;
}
