import { LineProblem } from './errors';
import { joinPath } from './safeJson';
import { editDistance } from '../closestName';

/** Names other tools use for a field qwen-gen spells differently. */
const ALIASES: Record<string, string> = {
  max_new_tokens: 'max_tokens',
  max_completion_tokens: 'max_tokens',
  max_length: 'max_tokens',
  min_new_tokens: 'min_tokens',
  top_logprobs: 'logprobs',
  stop_sequences: 'stop',
  random_seed: 'seed',
  text: 'prompt',
  input: 'prompt',
  message: 'messages',
  chat: 'messages',
};

/** An `unknown_field` problem for `key` under `parent`, suggesting the known field the user probably meant. */
export function unknownFieldProblem(key: string, parent: string, knownKeys: readonly string[]): LineProblem {
  const field = joinPath(parent, key);
  const suggestion = suggestKey(key, knownKeys);
  const hint = suggestion ? `; did you mean "${joinPath(parent, suggestion)}"?` : '';
  return new LineProblem('unknown_field', `unknown field "${field}"${hint}`, field);
}

export function suggestKey(key: string, knownKeys: readonly string[]): string | undefined {
  const alias = ALIASES[key.toLowerCase()];
  if (alias !== undefined && knownKeys.includes(alias)) return alias;
  const lower = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const known of knownKeys) {
    const distance = editDistance(lower, known);
    if (distance <= Math.max(1, Math.floor(known.length / 4)) && (!best || distance < best.distance)) {
      best = { key: known, distance };
    }
  }
  return best?.key;
}
