import { EngineStats } from '../engine/engineStats';
import { Finding } from './finding';
import { plural } from '../plural';

/** The largest prompt prefix that several requests started from (computed once), when prefix caching was used. */
export function sharedPrefixFinding(stats: Pick<EngineStats, 'prefixUses' | 'prefixTokensReused' | 'prefixHits'>): Finding | null {
  const lengths = Object.keys(stats.prefixUses).map(Number).filter((length) => stats.prefixUses[length] > 1);
  if (lengths.length === 0) return null;
  const tokens = Math.max(...lengths);
  const requests = stats.prefixUses[tokens];
  return {
    code: 'shared_prefix',
    severity: 'info',
    message:
      `${plural(requests, 'request')} began with the same ${tokens}-token prefix, computed once and reused; in all, ` +
      `${stats.prefixTokensReused} prompt tokens came from the prefix cache (${plural(stats.prefixHits, 'hit')}).`,
    evidence: { prefix_tokens: tokens, requests, prompt_tokens_reused: stats.prefixTokensReused, hits: stats.prefixHits },
    action: 'nothing to do; --no-prefix-cache turns prefix caching off, and with --shard the README says how to keep sharing requests in one shard',
  };
}

/** Prefix caching was wanted but turned off because this graph cannot reuse a prefix bit for bit. */
export function prefixCacheOffFinding(stats: Pick<EngineStats, 'prefixReuseInexact'>): Finding | null {
  if (stats.prefixReuseInexact === 0) return null;
  return {
    code: 'prefix_cache_off',
    severity: 'info',
    message:
      'Prompts share prefixes, but prefix caching was off for this run: on this graph a prompt prefilled as prefix + rest does not give ' +
      'bit-identical logits to one prefill (a plain-attention graph with a float16 KV cache attends over unrounded keys within one step), ' +
      'so reuse would make outputs depend on the other prompts of the run.',
    evidence: { checked: 'logits of a 32-token prompt prefilled whole vs in two steps' },
    action: 'every prompt was prefilled whole; a float32-KV or GroupQueryAttention export of the model can reuse prefixes exactly',
  };
}
