import { FinishReason, SequenceSpec } from './sequence';

export interface StopVerdict {
  reason: FinishReason;
  stopTokenId?: number;
}

/**
 * Whether a sequence stops after its latest token, checked by the engine for every row of a step: a stop token id (from
 * min_tokens on; never part of the text), a stop string (only rows that have one: output/ watches their text), its
 * constraint completing, then max_tokens. Null to go on.
 */
export function stopAfter(spec: SequenceSpec<unknown>, generated: readonly number[]): StopVerdict | null {
  const token = generated[generated.length - 1];
  const count = generated.length;
  if (count >= spec.minTokens && spec.stopTokenIds.has(token)) return { reason: 'stop', stopTokenId: token };
  if (spec.textStop?.push(token, count)) return { reason: 'stop' };
  if (spec.constraint?.accept(token)) return { reason: 'stop' };
  if (count >= spec.maxTokens) return { reason: 'length' };
  return null;
}
