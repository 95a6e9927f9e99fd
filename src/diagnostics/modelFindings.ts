import { LoadedModel } from '../model/loadModel';
import { Finding } from './finding';

/** Findings about the model alone (configs, tokenizer, graph), known before any request is read. */
export function modelFindings(model: LoadedModel): Finding[] {
  const findings: Finding[] = [];
  const { tokens } = model;
  if (tokens.padTokenId !== null && tokens.eosTokenIds.includes(tokens.padTokenId)) {
    const padText = model.tokenizer.decode([tokens.padTokenId], { skip_special_tokens: false });
    findings.push({
      code: 'pad_is_eos',
      severity: 'warning',
      message:
        `pad token ${tokens.padTokenId} ${JSON.stringify(padText)} is also an eos id, so padding cannot be told apart from ` +
        'end-of-text by the token ids alone and batching without an explicit attention mask gives wrong rows; ' +
        'qwen-gen passes explicit attention masks and position ids.',
      evidence: {
        pad_token_id: tokens.padTokenId,
        pad_token: padText,
        eos_token_ids: tokens.eosTokenIds,
        pad_sources: tokens.padSources,
        eos_sources: tokens.eosSources,
      },
      action: 'explicit attention_mask and position_ids on every step; pads never reach the sampler',
    });
  }
  return findings;
}
