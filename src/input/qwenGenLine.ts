import { fieldProblem, LineProblem } from './errors';
import { checkId, checkMetadata } from './fields';
import { checkMessages } from './messages';
import { checkParamCombination, isParamName, PARAM_NAMES, setParam } from './params';
import type { ChatMessage, GenerationRequest, InputWarning, RequestParams } from './request';
import { extraField, LineParseOptions } from './extraFields';

export const QWEN_GEN_KEYS: readonly string[] = ['id', 'prompt', 'messages', 'metadata', ...PARAM_NAMES];

/**
 * A qwen-gen line: `{"id"?, "prompt": string | "messages": [...], "metadata"?: {...}, ...params}`.
 * Policy: `"prompt": ""` is an `empty_prompt` error (there is nothing to continue from), while empty
 * message contents are valid with an `empty_content` warning (the chat template still yields a prompt).
 * `null` for a parameter or `metadata` means "not given", as in the OpenAI API; a missing id becomes the
 * 1-based line number.
 */
export function parseQwenGenLine(object: Record<string, unknown>, line: number, index: number, options: LineParseOptions = {}): GenerationRequest {
  const extra: Record<string, unknown> = {};
  const params: RequestParams = {};
  const warnings: InputWarning[] = [];
  let id: string | number = line;
  let prompt: string | undefined;
  let messages: ChatMessage[] | undefined;
  let metadata: Record<string, unknown> | undefined;

  for (const [key, value] of Object.entries(object)) {
    if (isParamName(key)) {
      if (value !== null) setParam(params, key, value, key);
    } else if (key === 'id') {
      id = checkId(value, key);
    } else if (key === 'prompt') {
      prompt = checkPrompt(value);
    } else if (key === 'messages') {
      messages = checkMessages(value, key, warnings);
    } else if (key === 'metadata') {
      if (value !== null) metadata = checkMetadata(value, key);
    } else {
      extraField(key, QWEN_GEN_KEYS, options);
      extra[key] = value;
    }
  }
  if (prompt !== undefined && messages !== undefined) {
    throw new LineProblem('conflicting_fields', 'fields "prompt" and "messages" are both given; use one of them', 'messages');
  }
  if (prompt === undefined && messages === undefined) {
    throw new LineProblem('missing_prompt', 'a request needs a "prompt" string or a "messages" array', 'prompt');
  }
  checkParamCombination(params, '');

  const request: GenerationRequest =
    prompt !== undefined
      ? { id, index, line, kind: 'prompt', prompt, params }
      : { id, index, line, kind: 'messages', messages, params };
  if (metadata !== undefined) request.metadata = metadata;
  if (Object.keys(extra).length > 0) request.extra = extra;
  if (warnings.length > 0) request.warnings = warnings;
  return request;
}

function checkPrompt(value: unknown): string {
  if (typeof value !== 'string') throw fieldProblem('prompt', 'must be a string', value);
  if (value === '') {
    throw new LineProblem('empty_prompt', 'field "prompt" is an empty string; give some text, or use "messages" for an empty chat turn', 'prompt');
  }
  return value;
}
