import { InputError, InputWarning } from '../input/request';
import { ContextFit } from '../schedule/contextFit';
import { Finding } from './finding';
import { findSpecialTokenText, TextSource } from './specialTokenText';
import { formatIds } from './formatIds';
import { plural } from '../plural';

/** What the request findings read of a parsed request (a GenerationRequest is one). */
export interface RequestFacts extends TextSource {
  warnings?: Pick<InputWarning, 'code' | 'field'>[];
}

export type InputErrorFacts = Pick<InputError, 'code' | 'line'> & { id?: string | number; field?: string };

export interface RequestFindingInput {
  requests: readonly RequestFacts[];
  /** Lines rejected by the input module (and any request the job refused with an error record). */
  inputErrors?: readonly InputErrorFacts[];
  /** Every added token's text (`addedTokenTexts(tokenizer)`); without it special-token text is not looked for. */
  addedTokens?: readonly string[];
  /** Whether --escape-special-tokens is on. */
  escapeSpecialTokens?: boolean;
  /** `fitToContext` for each tokenized request. */
  contextFits?: readonly ContextFit[];
  /** Non-blank lines in the whole input (before sharding); 0 reports `empty_input`. */
  inputLines?: number;
}

/** Findings about the input: what the requests contain, and what was refused or changed before generating. */
export function requestFindings(input: RequestFindingInput): Finding[] {
  const errors = input.inputErrors ?? [];
  return [
    emptyInput(input.inputLines),
    promptOverContext(input.contextFits ?? []),
    maxTokensOverContext(input.contextFits ?? []),
    specialTokensInContent(input.requests, input.addedTokens ?? [], input.escapeSpecialTokens ?? false),
    emptyPrompt(input.requests, errors),
    duplicateIds(errors),
    inputErrors(errors),
  ].filter((finding): finding is Finding => finding !== null);
}

function emptyInput(inputLines: number | undefined): Finding | null {
  if (inputLines !== 0) return null;
  return {
    code: 'empty_input',
    severity: 'warning',
    message: 'the input has no requests (it is empty or has only blank lines): nothing was generated.',
    evidence: { input_lines: 0 },
    action: 'exit 0 with no output lines, as for a shard that owns no request; check the file or the pipe feeding stdin',
  };
}

function promptOverContext(fits: readonly ContextFit[]): Finding | null {
  const refused = fits.filter((fit) => fit.verdict === 'refused');
  if (refused.length === 0) return null;
  const contextLength = refused[0].contextLength;
  return {
    code: 'prompt_over_context',
    severity: 'error',
    message: `${plural(refused.length, 'prompt')} as long as or longer than the model context (${contextLength} tokens): ${formatIds(refused.map((f) => f.id))}.`,
    evidence: {
      context_length: contextLength,
      count: refused.length,
      request_ids: refused.map((f) => f.id),
      requests: refused.map((f) => ({ id: f.id, prompt_tokens: f.promptTokens })),
    },
    action: 'refused: each got an error record; no prompt was truncated',
  };
}

function maxTokensOverContext(fits: readonly ContextFit[]): Finding | null {
  const clamped = fits.filter((fit) => fit.verdict === 'clamped');
  if (clamped.length === 0) return null;
  const contextLength = clamped[0].contextLength;
  return {
    code: 'prompt_plus_max_tokens_over_context',
    severity: 'warning',
    message: `${plural(clamped.length, 'request')} with prompt + max_tokens over the model context (${contextLength} tokens): ${formatIds(clamped.map((f) => f.id))}.`,
    evidence: {
      context_length: contextLength,
      count: clamped.length,
      request_ids: clamped.map((f) => f.id),
      requests: clamped.map((f) => ({ id: f.id, prompt_tokens: f.promptTokens, requested_max_tokens: f.requestedMaxTokens, max_tokens: f.maxTokens })),
    },
    action: 'max_tokens clamped to the room left in the context (context length − prompt tokens)',
  };
}

function specialTokensInContent(requests: readonly RequestFacts[], addedTokens: readonly string[], escaping: boolean): Finding | null {
  if (addedTokens.length === 0) return null;
  const hits = requests
    .map((request) => ({ id: request.id, occurrences: findSpecialTokenText(request, addedTokens, escaping) }))
    .filter((hit) => hit.occurrences.length > 0);
  if (hits.length === 0) return null;
  const tokens = [...new Set(hits.flatMap((hit) => hit.occurrences.flatMap((o) => o.tokens)))];
  const unescaped = hits.filter((hit) => hit.occurrences.some((o) => !o.escaped));
  return {
    code: 'special_tokens_in_content',
    severity: unescaped.length > 0 ? 'warning' : 'info',
    message:
      `special-token text ${tokens.join(' ')} typed in the content of ${plural(hits.length, 'request')} (${formatIds(hits.map((h) => h.id))}): ` +
      'the tokenizer turns it into control tokens, a prompt-injection and correctness hazard.',
    evidence: {
      tokens,
      count: hits.length,
      request_ids: hits.map((hit) => hit.id),
      unescaped_request_ids: unescaped.map((hit) => hit.id),
      requests: hits.map((hit) => ({ id: hit.id, fields: hit.occurrences })),
      escape_special_tokens: escaping,
    },
    action: !escaping
      ? 'tokenized as control tokens, as the model tokenizer does; --escape-special-tokens makes such text plain text'
      : unescaped.length > 0
        ? 'escaped (plain text) in system, user and tool content and raw prompts; assistant turns are left to the chat template'
        : 'tokenized as plain text (--escape-special-tokens)',
  };
}

function emptyPrompt(requests: readonly RequestFacts[], errors: readonly InputErrorFacts[]): Finding | null {
  const processed = requests
    .map((request) => ({ id: request.id, fields: (request.warnings ?? []).filter((w) => w.code === 'empty_content').map((w) => w.field) }))
    .filter((entry) => entry.fields.length > 0);
  const refused = errors.filter((error) => error.code === 'empty_prompt' || error.code === 'empty_messages');
  if (processed.length === 0 && refused.length === 0) return null;
  const parts: string[] = [];
  if (processed.length > 0) parts.push(`${plural(processed.length, 'request')} with an empty message content (${formatIds(processed.map((p) => p.id))})`);
  if (refused.length > 0) parts.push(`${plural(refused.length, 'line')} with an empty prompt or messages (line numbers: ${refused.map((e) => e.line).join(', ')})`);
  return {
    code: 'empty_prompt',
    severity: 'warning',
    message: `${parts.join('; ')}.`,
    evidence: {
      count: processed.length + refused.length,
      request_ids: processed.map((p) => p.id),
      empty_fields: processed,
      refused_request_ids: refused.filter((e) => e.id !== undefined).map((e) => e.id),
      refused_lines: refused.map((e) => e.line),
    },
    action:
      [
        processed.length > 0 ? 'empty contents generated anyway (the chat template still yields a prompt)' : '',
        refused.length > 0 ? 'empty prompts refused with error records' : '',
      ].filter(Boolean).join('; '),
  };
}

function duplicateIds(errors: readonly InputErrorFacts[]): Finding | null {
  const duplicates = errors.filter((error) => error.code === 'duplicate_id');
  if (duplicates.length === 0) return null;
  const ids = uniqueIds(duplicates.map((error) => error.id).filter((id): id is string | number => id !== undefined));
  return {
    code: 'duplicate_ids',
    severity: 'error',
    message: `${plural(duplicates.length, 'line')} reusing an earlier line's id (${formatIds(ids)}).`,
    evidence: { count: duplicates.length, request_ids: ids, lines: duplicates.map((error) => error.line) },
    action: 'the first line with each id was processed; the later lines got error records',
  };
}

/** Rejected lines other than repeated ids (duplicate_ids counts those: one bad line, one error). */
function inputErrors(allErrors: readonly InputErrorFacts[]): Finding | null {
  const errors = allErrors.filter((error) => error.code !== 'duplicate_id');
  if (errors.length === 0) return null;
  const byCode: Record<string, number> = {};
  for (const error of errors) byCode[error.code] = (byCode[error.code] ?? 0) + 1;
  const summary = Object.entries(byCode)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  return {
    code: 'input_errors',
    severity: 'error',
    message: `${plural(errors.length, 'input line')} rejected: ${summary}.`,
    evidence: { count: errors.length, by_code: byCode, lines: errors.map((error) => error.line) },
    action: 'each rejected line got an error record in the output; the other lines were generated',
  };
}

function uniqueIds(ids: (string | number)[]): (string | number)[] {
  const seen = new Set<string>();
  return ids.filter((id) => {
    const key = `${typeof id}:${id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
