import { fieldProblem, LineProblem } from './errors';
import { checkMetadata } from './fields';
import { checkMessages } from './messages';
import { checkParamCombination, isParamName, setParam } from './params';
import { GENERATION_PARAMS } from '../params/generationParams';
import type { ChatMessage, GenerationRequest, InputWarning, RequestParams } from './request';
import { isPlainObject } from './safeJson';
import { unknownFieldProblem } from './unknownField';
import { extraField, LineParseOptions } from './extraFields';

const LINE_KEYS = ['custom_id', 'method', 'url', 'body'];
export const OPENAI_CHAT_URL = '/v1/chat/completions';

/** Accepted and ignored: the model comes from `-m`, and `user` only labels the caller. */
const IGNORED_BODY_KEYS = ['model', 'user'];

/** OpenAI chat parameters that qwen-gen knows but cannot honour; refused rather than silently ignored. */
const UNSUPPORTED_BODY_KEYS = [
  'tools', 'tool_choice', 'functions', 'function_call', 'parallel_tool_calls',
  'logit_bias', 'stream_options', 'modalities', 'audio', 'prediction', 'reasoning_effort',
  'service_tier', 'store', 'web_search_options',
];

/** Body fields that are not generation parameters. */
const SPECIAL_BODY_KEYS = ['messages', 'metadata', 'stream'];

/** Every body field that carries a generation parameter, from the parameter table ("chat_template_kwargs.x" → its object). */
const PARAM_BODY_KEYS: readonly string[] = [...new Set(GENERATION_PARAMS.flatMap((spec) => spec.openai.map((field) => field.split('.')[0])))];

const BODY_KEYS: readonly string[] = [...SPECIAL_BODY_KEYS, ...IGNORED_BODY_KEYS, ...PARAM_BODY_KEYS];

/** A line is in the OpenAI Batch shape when it has a top-level `custom_id` or `body`. */
export function isOpenAiBatchShape(object: Record<string, unknown>): boolean {
  return Object.hasOwn(object, 'custom_id') || Object.hasOwn(object, 'body');
}

/**
 * An OpenAI Batch API line: `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {chat
 * request}}`. The id is custom_id. Body parameters map to RequestParams under their own names (vLLM's
 * extras such as top_k, min_p, repetition_penalty included); `max_completion_tokens` is `max_tokens`;
 * `logprobs: true` + `top_logprobs: N` is `logprobs: N` (0 without top_logprobs); `stop` may be a string;
 * `enable_thinking` may also come as vLLM's `chat_template_kwargs.enable_thinking`. `body.metadata` passes
 * through. As in the OpenAI API, `null` means "not given".
 */
export function parseOpenAiBatchLine(object: Record<string, unknown>, line: number, index: number, options: LineParseOptions = {}): GenerationRequest {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (LINE_KEYS.includes(key)) continue;
    extraField(key, LINE_KEYS, options);
    extra[key] = value;
  }
  const customId = requireField(object, 'custom_id');
  if (typeof customId !== 'string' || customId === '') throw fieldProblem('custom_id', 'must be a non-empty string', customId);
  const method = requireField(object, 'method');
  if (method !== 'POST') throw fieldProblem('method', 'must be "POST"', method);
  const url = requireField(object, 'url');
  if (url !== OPENAI_CHAT_URL) throw fieldProblem('url', `must be "${OPENAI_CHAT_URL}" (the only endpoint qwen-gen serves)`, url);
  const body = requireField(object, 'body');
  if (!isPlainObject(body)) throw fieldProblem('body', 'must be an object (a chat completion request)', body);

  const { messages, params, metadata, warnings } = parseBody(body);
  const request: GenerationRequest = { id: customId, index, line, kind: 'messages', messages, params, customId };
  if (metadata !== undefined) request.metadata = metadata;
  if (Object.keys(extra).length > 0) request.extra = extra;
  if (warnings.length > 0) request.warnings = warnings;
  return request;
}

function parseBody(body: Record<string, unknown>): {
  messages: ChatMessage[];
  params: RequestParams;
  metadata?: Record<string, unknown>;
  warnings: InputWarning[];
} {
  const params: RequestParams = {};
  const warnings: InputWarning[] = [];
  let messages: ChatMessage[] | undefined;
  let metadata: Record<string, unknown> | undefined;
  let logprobs: boolean | undefined;
  let topLogprobs: number | undefined;

  for (const [key, value] of Object.entries(body)) {
    const field = `body.${key}`;
    if (UNSUPPORTED_BODY_KEYS.includes(key)) {
      throw new LineProblem('unsupported_field', `field "${field}" is an OpenAI parameter qwen-gen does not support`, field);
    }
    if (!BODY_KEYS.includes(key)) throw unknownFieldProblem(key, 'body', BODY_KEYS);
    if (value === null || IGNORED_BODY_KEYS.includes(key)) continue;
    switch (key) {
      case 'messages':
        messages = checkMessages(value, field, warnings);
        break;
      case 'metadata':
        metadata = checkMetadata(value, field);
        break;
      case 'max_completion_tokens':
      case 'max_tokens':
        if (params.max_tokens !== undefined) {
          throw new LineProblem('conflicting_fields', 'fields "body.max_tokens" and "body.max_completion_tokens" are both given; use one', field);
        }
        setParam(params, 'max_tokens', value, field);
        break;
      case 'logprobs':
        if (typeof value !== 'boolean') throw fieldProblem(field, 'must be true or false', value);
        logprobs = value;
        break;
      case 'top_logprobs': {
        const holder: RequestParams = {};
        setParam(holder, 'logprobs', value, field);
        topLogprobs = holder.logprobs;
        break;
      }
      case 'chat_template_kwargs':
        setEnableThinking(params, readChatTemplateKwargs(value, field), `${field}.enable_thinking`);
        break;
      case 'stream':
        if (value !== false) throw fieldProblem(field, 'must be false (streaming is not supported in batch files)', value, 'unsupported_field');
        break;
      case 'enable_thinking':
        setEnableThinking(params, value, field);
        break;
      default:
        if (isParamName(key)) setParam(params, key, value, field);
    }
  }
  if (messages === undefined) throw new LineProblem('missing_prompt', 'field "body.messages" is missing; a chat request needs messages', 'body.messages');
  if (topLogprobs !== undefined && logprobs !== true) {
    throw new LineProblem('conflicting_fields', 'field "body.top_logprobs" requires "body.logprobs": true', 'body.top_logprobs');
  }
  if (logprobs === true) params.logprobs = topLogprobs ?? 0;
  checkParamCombination(params, 'body.');
  return { messages, params, metadata, warnings };
}

function readChatTemplateKwargs(value: unknown, field: string): unknown {
  if (!isPlainObject(value)) throw fieldProblem(field, 'must be an object', value);
  for (const key of Object.keys(value)) {
    if (key !== 'enable_thinking') throw unknownFieldProblem(key, field, ['enable_thinking']);
  }
  return value.enable_thinking;
}

function setEnableThinking(params: RequestParams, value: unknown, field: string): void {
  if (value === undefined || value === null) return;
  if (params.enable_thinking !== undefined) {
    throw new LineProblem(
      'conflicting_fields',
      'fields "body.enable_thinking" and "body.chat_template_kwargs.enable_thinking" are both given; use one',
      field,
    );
  }
  setParam(params, 'enable_thinking', value, field);
}

function requireField(object: Record<string, unknown>, key: string): unknown {
  if (!Object.hasOwn(object, key)) {
    throw new LineProblem('missing_field', `field "${key}" is missing; an OpenAI Batch line needs ${LINE_KEYS.join(', ')}`, key);
  }
  return object[key];
}
