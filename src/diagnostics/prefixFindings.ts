import { EngineStats } from '../engine/engineStats';
import { Finding } from './finding';
import { plural } from './requestFindings';

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
