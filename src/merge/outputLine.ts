import { isRequestId, RequestId } from '../shard/requestId';

/** What merge needs to know about one line of a shard's output. */
export interface OutputLineInfo {
  /** `id` of a qwen-gen line, `custom_id` of an OpenAI batch line; null for an error record whose input line had no readable id. */
  id: RequestId | null;
  /** The input index, when the line carries one (OpenAI batch lines do not). */
  index?: number;
  /** Generation-settings fingerprint, when present. */
  settings?: string;
  /** Set for error records: `{"error": {...}}`, or an OpenAI line with a non-null error or an HTTP status >= 400. */
  error?: { code: string; message: string };
}

export type ClassifiedLine = { ok: true; info: OutputLineInfo } | { ok: false; reason: string };

/**
 * Reads the fields merge relies on. Line formats:
 * - result: `{"id", "index", "text", "finish_reason", "usage", "settings", ...}`
 * - error record: `{"id", "index", "error": {"code", "message", "line"}, "settings"?}` (`"id": null` when the
 *   input line had no readable id)
 * - OpenAI batch: `{"id", "custom_id", "response": {...} | null, "error": {...} | null}` (identified by `custom_id`)
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
  const isOpenAi = Object.hasOwn(fields, 'custom_id');
  const rawId = isOpenAi ? fields.custom_id : fields.id;
  const error = isOpenAi ? openAiError(fields) : errorRecord(fields.error);
  const index = Number.isSafeInteger(fields.index) && (fields.index as number) >= 0 ? (fields.index as number) : undefined;
  // Only an error record may lack an id, and then its index identifies it.
  const anonymous = (rawId === null || rawId === undefined) && error !== undefined && index !== undefined;
  if (!isRequestId(rawId) && !anonymous) {
    return { ok: false, reason: isOpenAi ? 'custom_id is not a string or number' : 'no "id" string or number' };
  }
  const info: OutputLineInfo = { id: isRequestId(rawId) ? rawId : null };
  if (index !== undefined) info.index = index;
  if (typeof fields.settings === 'string') info.settings = fields.settings;
  if (error) info.error = error;
  return { ok: true, info };
}

function errorRecord(value: unknown): OutputLineInfo['error'] {
  if (value === null || value === undefined || value === false) return undefined;
  if (typeof value !== 'object') return { code: 'error', message: String(value) };
  const fields = value as Record<string, unknown>;
  return {
    code: typeof fields.code === 'string' || typeof fields.code === 'number' ? String(fields.code) : 'error',
    message: typeof fields.message === 'string' ? fields.message : JSON.stringify(value),
  };
}

function openAiError(fields: Record<string, unknown>): OutputLineInfo['error'] {
  const explicit = errorRecord(fields.error);
  if (explicit) return explicit;
  const response = fields.response;
  if (response === null || response === undefined) return { code: 'no_response', message: 'response is null and error is null' };
  const status = (response as Record<string, unknown>).status_code;
  if (typeof status === 'number' && status >= 400) return { code: `http_${status}`, message: `response status ${status}` };
  return undefined;
}
