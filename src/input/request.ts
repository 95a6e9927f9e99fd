import type { RequestParams } from '../params/requestParams';

/**
 * Types of the input side: one JSONL line becomes either a GenerationRequest or an InputError.
 *
 * Numbering: `line` is the 1-based physical line of the file (blank lines count, so editors agree);
 * `index` is the 0-based position among the NON-blank lines (blank lines are skipped and get no index,
 * every non-blank line — valid or not — gets exactly one). So `index` is stable under adding or removing
 * blank lines, and requests.length + errors.length === the number of non-blank lines.
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export type { RequestParams } from '../params/requestParams';

export type InputFormat = 'qwen-gen' | 'openai';

/** Something worth reporting about a request that is still valid (e.g. an empty message content). */
export interface InputWarning {
  code: 'empty_content';
  field: string;
  message: string;
}

export interface GenerationRequest {
  /** The line's id; custom_id for OpenAI Batch lines; the 1-based line number when the line has none. */
  id: string | number;
  index: number;
  line: number;
  kind: 'prompt' | 'messages';
  prompt?: string;
  messages?: ChatMessage[];
  params: RequestParams;
  /** OpenAI Batch `custom_id` (equal to id), present only for OpenAI Batch lines. */
  customId?: string;
  /**
   * The line's `metadata` object (top level for qwen-gen lines, `body.metadata` for OpenAI Batch lines),
   * carried through unchanged so the output writer can echo it; never interpreted.
   */
  metadata?: Record<string, unknown>;
  /** --keep-fields: the line's unknown top-level fields, copied to the output record. */
  extra?: Record<string, unknown>;
  warnings?: InputWarning[];
}

/** Stable error codes; tests and downstream tools may rely on them. */
export type InputErrorCode =
  | 'invalid_utf8'
  | 'line_too_long'
  | 'invalid_json'
  | 'not_an_object'
  | 'forbidden_key'
  | 'missing_prompt'
  | 'missing_field'
  | 'empty_prompt'
  | 'empty_messages'
  | 'conflicting_fields'
  | 'invalid_field'
  | 'unknown_field'
  | 'unsupported_field'
  | 'unknown_role'
  | 'duplicate_id'
  | 'mixed_format';

export interface InputError {
  line: number;
  index: number;
  /** The line's own id when it had a valid one, the line number when it had none; absent when unknowable. */
  id?: string | number;
  code: InputErrorCode;
  /** Path of the offending field, e.g. "temperature", "messages[1].content", "body.top_p". */
  field?: string;
  /** Starts with "line N: " and names the field; meant to be shown to users as is. */
  message: string;
}

/** Key for id equality: the number 1 and the string "1" are different ids (outputs keep the JSON type). */
export function idKey(id: string | number): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}
