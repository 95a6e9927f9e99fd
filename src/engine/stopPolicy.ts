import { StopPolicy } from './sequence';

export interface StopSettings {
  maxTokens: number;
  /** Token ids that end a sequence (eos ids unless ignored, plus per-request stop_token_ids). */
  stopTokenIds: ReadonlySet<number>;
  /** Stop tokens are not honoured before this many tokens (min_tokens); the sampler also masks them. */
  minTokens?: number;
}

export function createStopPolicy(settings: StopSettings): StopPolicy {
  return {
    check(generated) {
      const last = generated[generated.length - 1];
      if (generated.length >= (settings.minTokens ?? 0) && settings.stopTokenIds.has(last)) {
        return { reason: 'stop', stopTokenId: last };
      }
      if (generated.length >= settings.maxTokens) return { reason: 'length' };
      return null;
    },
  };
}
