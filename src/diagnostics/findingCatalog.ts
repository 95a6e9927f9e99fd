import { Severity } from './finding';

/**
 * Every finding code qwen-gen reports, with a short title (annotation titles, Markdown) and the severities it can take.
 *
 * Severity policy:
 * - error: some request was refused or lost, or the run itself is set up to give wrong rows. `--fail-on error` (the
 *   default) fails the run.
 * - warning: qwen-gen's outputs are right, but the model's files or the input contain something that makes other tools
 *   (or a naive batch) give wrong or surprising results, or an output was cut short. `--fail-on warning` gates on these.
 * - info: a fact worth knowing that qwen-gen fully handles (mitigated findings: their `action` says how). A warning is
 *   something the user should change, so `--fail-on warning` can gate CI on every Qwen3 model.
 * `--ignore-finding CODE` drops a code from the run's findings (gate, summary and report).
 */
export interface CatalogEntry {
  title: string;
  severities: readonly Severity[];
  scope: 'model' | 'request' | 'outcome';
}

export const FINDING_CATALOG = {
  pad_is_eos: { title: 'pad token is an eos token', severities: ['info'], scope: 'model' },
  no_pad_token: { title: 'no pad token', severities: ['info'], scope: 'model' },
  no_eos_token: { title: 'no eos token', severities: ['warning'], scope: 'model' },
  eos_sources_disagree: { title: 'config files disagree on eos', severities: ['info', 'warning'], scope: 'model' },
  pad_sources_disagree: { title: 'config files disagree on pad', severities: ['info'], scope: 'model' },
  padding_side_mismatch: { title: 'tokenizer padding side vs attention kind', severities: ['info', 'warning'], scope: 'model' },
  gqa_left_padding_unsafe: { title: 'left padding gives wrong rows on this graph', severities: ['info'], scope: 'model' },
  left_padding_on_gqa: { title: 'left padding forced on a GroupQueryAttention graph', severities: ['error'], scope: 'model' },
  no_attention_mask: { title: 'graph has no attention_mask', severities: ['warning'], scope: 'model' },
  no_position_ids: { title: 'graph has no position_ids', severities: ['info', 'warning'], scope: 'model' },
  batch_dependent_quantization: { title: 'dynamic quantization depends on the batch', severities: ['info', 'warning'], scope: 'model' },
  prompt_over_context: { title: 'prompt longer than the context', severities: ['error'], scope: 'request' },
  prompt_plus_max_tokens_over_context: { title: 'max_tokens clamped to the context', severities: ['warning'], scope: 'request' },
  special_tokens_in_content: { title: 'special-token text in content', severities: ['info', 'warning'], scope: 'request' },
  empty_input: { title: 'the input has no requests', severities: ['warning'], scope: 'request' },
  empty_prompt: { title: 'empty prompt', severities: ['warning'], scope: 'request' },
  duplicate_ids: { title: 'duplicate request ids', severities: ['error'], scope: 'request' },
  input_errors: { title: 'input lines rejected', severities: ['error'], scope: 'request' },
  hit_max_tokens: { title: 'outputs cut at max_tokens', severities: ['info', 'warning'], scope: 'outcome' },
  stopped_on_pad_id: { title: 'stopped on the pad id', severities: ['info'], scope: 'outcome' },
  structured_output_truncated: { title: 'constrained output cut before its grammar completed', severities: ['warning'], scope: 'outcome' },
  shared_prefix: { title: 'shared prompt prefix computed once', severities: ['info'], scope: 'outcome' },
  prefix_cache_off: { title: 'prefix caching off: reuse not exact on this graph', severities: ['info'], scope: 'outcome' },
} as const satisfies Record<string, CatalogEntry>;

export type FindingCode = keyof typeof FINDING_CATALOG;

export const FINDING_CODES = Object.keys(FINDING_CATALOG) as FindingCode[];

/** The catalog title, or the code itself for a code from a newer version (merged reports may carry one). */
export function findingTitle(code: string): string {
  return (FINDING_CATALOG as Record<string, CatalogEntry>)[code]?.title ?? code;
}
