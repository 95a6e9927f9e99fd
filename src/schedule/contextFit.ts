export type ContextVerdict = 'fits' | 'clamped' | 'refused';

/** How one request fits the model's context: the numbers, the verdict, and the max_tokens that can actually be used. */
export interface ContextFit {
  id: string | number;
  promptTokens: number;
  requestedMaxTokens: number;
  contextLength: number;
  verdict: ContextVerdict;
  /** max_tokens after clamping; 0 when refused. */
  maxTokens: number;
}

/**
 * A prompt that fills the whole context leaves no room for a single new token: refused (never truncated: cutting a prompt
 * silently changes the task). A prompt that fits but leaves less room than max_tokens gets max_tokens clamped.
 */
export function fitToContext(id: string | number, promptTokens: number, requestedMaxTokens: number, contextLength: number): ContextFit {
  const base = { id, promptTokens, requestedMaxTokens, contextLength };
  if (promptTokens >= contextLength) return { ...base, verdict: 'refused', maxTokens: 0 };
  const room = contextLength - promptTokens;
  if (requestedMaxTokens > room) return { ...base, verdict: 'clamped', maxTokens: room };
  return { ...base, verdict: 'fits', maxTokens: requestedMaxTokens };
}
