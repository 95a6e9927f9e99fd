import { ESCAPED_ROLES } from '../tokenize/promptEncoder';

/** The parts of a request that carry typed text. */
export interface TextSource {
  id: string | number;
  prompt?: string;
  messages?: { role: string; content: string }[];
}

/** Special-token text found in one field of one request. */
export interface SpecialTokenOccurrence {
  field: string;
  tokens: string[];
  /** Whether --escape-special-tokens (when on) makes this field's text plain text. */
  escaped: boolean;
}

/** In assistant turns these are the model's own markup, which the chat template parses: not a hazard. */
const ASSISTANT_MARKUP = new Set(['<think>', '</think>']);

/**
 * Finds added-token text (e.g. `<|im_end|>`, `<|endoftext|>`, `<think>`) typed in a request's prompt or message contents:
 * the tokenizer turns such text into control tokens unless it is escaped.
 */
export function findSpecialTokenText(request: TextSource, addedTokens: readonly string[], escaping: boolean): SpecialTokenOccurrence[] {
  const pattern = alternation(addedTokens);
  if (!pattern) return [];
  const occurrences: SpecialTokenOccurrence[] = [];
  const scan = (field: string, text: string, escaped: boolean, ignore?: Set<string>) => {
    const tokens = [...new Set([...text.matchAll(pattern)].map((m) => m[0]))].filter((t) => !ignore?.has(t));
    if (tokens.length > 0) occurrences.push({ field, tokens, escaped });
  };
  if (request.messages) {
    request.messages.forEach((message, i) => {
      const assistant = message.role === 'assistant';
      scan(`messages[${i}].content`, message.content, escaping && ESCAPED_ROLES.has(message.role), assistant ? ASSISTANT_MARKUP : undefined);
    });
  } else if (request.prompt !== undefined) {
    scan('prompt', request.prompt, escaping);
  }
  return occurrences;
}

const patterns = new Map<string, RegExp | null>();

function alternation(tokens: readonly string[]): RegExp | null {
  const key = tokens.join('\u0000');
  if (!patterns.has(key)) {
    const sorted = [...tokens].filter((t) => t.length > 0).sort((a, b) => b.length - a.length);
    patterns.set(key, sorted.length > 0 ? new RegExp(sorted.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null);
  }
  return patterns.get(key) ?? null;
}
