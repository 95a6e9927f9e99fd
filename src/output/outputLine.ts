import { InputFormat } from '../input/request';
import { isRequestId, RequestId } from '../shard/requestId';

/** What one line of a qwen-gen output file says, in either output format. Resume and merge both read lines through this. */
export interface OutputLineInfo {
  format: InputFormat;
  /** `id` of a qwen-gen line, `custom_id` of an OpenAI batch line; null for an error record whose input line had no readable id. */
  id: RequestId | null;
  /** The input index, when the line carries one (OpenAI batch lines do not). */
  index?: number;
  /** Generation-settings fingerprint: top-level `settings`, or the OpenAI body's `system_fingerprint` without `qwen-gen-`. */
  settings?: string;
  /** Set for error records: `{"error": {...}}`, or an OpenAI line with a non-null error, no response or an HTTP status >= 400. */
  error?: { code: string; message: string };
}

export type ClassifiedLine = { ok: true; info: OutputLineInfo } | { ok: false; reason: string };

const FINGERPRINT_PREFIX = 'qwen-gen-';

/**
 * Reads one output line. Line formats:
 * - result: `{"id", "index", "text", "finish_reason", "usage", "settings", ...}`
 * - error record: `{"id", "index", "error": {"code", "message", "line"}, "settings"?}` (`"id": null` when the
 *   input line had no readable id)
 * - OpenAI batch: `{"id", "custom_id", "response": {"status_code", "body": {"system_fingerprint", ...}} | null,
 *   "error": {...} | null}` (identified by `custom_id`)
 * Only an error record may lack an id; whether it is then identified (by its index) is the caller's concern.
 */
export function classifyOutputLine(text: string): ClassifiedLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'not a JSON object' };
  }
  const fields = parsed as Record<string, unknown>;
  const format: InputFormat = Object.hasOwn(fields, 'custom_id') ? 'openai' : 'qwen-gen';
  const rawId = format === 'openai' ? fields.custom_id : fields.id;
  const error = format === 'openai' ? openAiError(fields) : errorOf(fields.error);
  const anonymous = (rawId === null || rawId === undefined) && error !== undefined;
  if (!isRequestId(rawId) && !anonymous) return { ok: false, reason: idProblem(format) };
  const info: OutputLineInfo = { format, id: isRequestId(rawId) ? rawId : null };
  if (Number.isSafeInteger(fields.index) && (fields.index as number) >= 0) info.index = fields.index as number;
  const settings = format === 'openai' ? openAiFingerprint(fields) : fields.settings;
  if (typeof settings === 'string') info.settings = settings;
  if (error) info.error = error;
  return { ok: true, info };
}

/** Why a line without a usable id is not an output line. */
export function idProblem(format: InputFormat): string {
  return format === 'openai' ? 'custom_id is not a string or number' : 'no "id" string or number';
}

function errorOf(value: unknown): OutputLineInfo['error'] {
  if (value === null || value === undefined || value === false) return undefined;
  if (typeof value !== 'object') return { code: 'error', message: String(value) };
  const fields = value as Record<string, unknown>;
  return {
    code: typeof fields.code === 'string' || typeof fields.code === 'number' ? String(fields.code) : 'error',
    message: typeof fields.message === 'string' ? fields.message : JSON.stringify(value),
  };
}

function openAiError(fields: Record<string, unknown>): OutputLineInfo['error'] {
  const explicit = errorOf(fields.error);
  if (explicit) return explicit;
  const response = fields.response;
  if (response === null || typeof response !== 'object') return { code: 'no_response', message: 'response is null and error is null' };
  const status = (response as Record<string, unknown>).status_code;
  if (typeof status === 'number' && status >= 400) return { code: `http_${status}`, message: `response status ${status}` };
  return undefined;
}

function openAiFingerprint(fields: Record<string, unknown>): string | undefined {
  const body = (fields.response as Record<string, unknown> | null | undefined)?.body as Record<string, unknown> | undefined;
  const fingerprint = body?.system_fingerprint;
  if (typeof fingerprint !== 'string') return undefined;
  return fingerprint.startsWith(FINGERPRINT_PREFIX) ? fingerprint.slice(FINGERPRINT_PREFIX.length) : fingerprint;
}
