import { ModelFiles, tokenIdOf } from '../model/modelFiles';
import { Finding } from './finding';
import { formatIds } from './formatIds';
import { plural } from '../plural';

/** How one generated sequence ended (one per request, or per sample when n > 1). */
export interface SequenceOutcome {
  id: string | number;
  finishReason: 'stop' | 'length';
  /** The token that stopped it, when it stopped on a token. */
  stopTokenId?: number;
  /** Requests with ignore_eos are expected to run to max_tokens: not reported. */
  ignoreEos?: boolean;
  /** max_tokens was chosen by the user (the line or --max-tokens), not the built-in default. */
  explicitMaxTokens?: boolean;
  /** A structured output (constrained) that ended at max_tokens before its grammar was complete: its text is not valid. */
  structuredIncomplete?: boolean;
}

export interface OutcomeContext {
  /** The model's pad id (null when it has none). */
  padTokenId: number | null;
  /** The chat template's end-of-turn id (`<|im_end|>` for Qwen3), when the vocabulary has it. */
  chatEosTokenId?: number;
}

/** The ids outcomeFindings compares stop tokens with, from a loaded model (Qwen3's chat end-of-turn is `<|im_end|>`). */
export function outcomeContextOf(model: Pick<ModelFiles, 'tokens' | 'tokenizer'>): OutcomeContext {
  return { padTokenId: model.tokens.padTokenId, chatEosTokenId: tokenIdOf(model.tokenizer, '<|im_end|>') };
}

/** Findings about how the requests ended. */
export function outcomeFindings(outcomes: readonly SequenceOutcome[], context: OutcomeContext): Finding[] {
  return [hitMaxTokens(outcomes), stoppedOnPad(outcomes, context), structuredTruncated(outcomes)].filter((f): f is Finding => f !== null);
}

/** Constrained outputs cut at max_tokens before their grammar completed: the JSON (regex, choice, grammar) is not valid. */
function structuredTruncated(outcomes: readonly SequenceOutcome[]): Finding | null {
  const ids = unique(outcomes.filter((o) => o.structuredIncomplete).map((o) => o.id));
  if (ids.length === 0) return null;
  return {
    code: 'structured_output_truncated',
    severity: 'warning',
    message: `${plural(ids.length, 'constrained request')} ended at max_tokens before their grammar was complete (${formatIds(ids)}): their text is not valid for their schema, regex, choice or grammar.`,
    evidence: { count: ids.length, request_ids: ids },
    action: 'finish_reason "length" on those output lines; raise max_tokens (per line or --max-tokens) so the constrained output can finish',
  };
}

/**
 * Outputs that ended at max_tokens. A length cap the user chose is an ordinary outcome (info); outputs cut at the built-in
 * default (256) are a warning: nobody asked for that cap, and the answers may be incomplete.
 */
function hitMaxTokens(outcomes: readonly SequenceOutcome[]): Finding | null {
  const lengthEnded = outcomes.filter((o) => o.finishReason === 'length' && !o.ignoreEos);
  const cut = unique(lengthEnded.map((o) => o.id));
  if (cut.length === 0) return null;
  const atDefault = unique(lengthEnded.filter((o) => !o.explicitMaxTokens).map((o) => o.id));
  const defaultKeys = new Set(atDefault.map((id) => `${typeof id}:${id}`));
  const atChosen = cut.filter((id) => !defaultKeys.has(`${typeof id}:${id}`));
  const chosenText = `${plural(atChosen.length, 'request')} ended at the max_tokens you set (${formatIds(atChosen)})`;
  const message =
    atDefault.length === 0
      ? `${chosenText}: an ordinary length cap.`
      : `${plural(atDefault.length, 'request')} ended at the built-in default max_tokens, which nobody chose (${formatIds(atDefault)}): ` +
        `their outputs may be cut short${atChosen.length > 0 ? `; ${chosenText}` : ''}.`;
  return {
    code: 'hit_max_tokens',
    severity: atDefault.length > 0 ? 'warning' : 'info',
    message,
    evidence: { count: cut.length, request_ids: cut, at_default_max_tokens: atDefault, at_chosen_max_tokens: atChosen },
    action: 'finish_reason "length" on those output lines; raise max_tokens (per line or --max-tokens) for complete answers',
  };
}

function stoppedOnPad(outcomes: readonly SequenceOutcome[], context: OutcomeContext): Finding | null {
  const { padTokenId, chatEosTokenId } = context;
  if (padTokenId === null || padTokenId === chatEosTokenId) return null;
  const ids = unique(outcomes.filter((o) => o.finishReason === 'stop' && o.stopTokenId === padTokenId).map((o) => o.id));
  if (ids.length === 0) return null;
  return {
    code: 'stopped_on_pad_id',
    severity: 'info',
    message:
      `${plural(ids.length, 'request')} stopped on the pad id ${padTokenId} rather than the chat end-of-turn` +
      `${chatEosTokenId !== undefined ? ` ${chatEosTokenId}` : ''} (${formatIds(ids)}): the model ended the document instead of closing its turn, and tools that treat that id as padding hide where it stopped.`,
    evidence: { count: ids.length, request_ids: ids, pad_token_id: padTokenId, chat_eos_token_id: chatEosTokenId ?? null },
    action: 'a normal stop for qwen-gen (finish_reason "stop"): masks, not token ids, tell its pads apart',
  };
}

function unique(ids: (string | number)[]): (string | number)[] {
  const seen = new Set<string>();
  return ids.filter((id) => !seen.has(`${typeof id}:${id}`) && Boolean(seen.add(`${typeof id}:${id}`)));
}
