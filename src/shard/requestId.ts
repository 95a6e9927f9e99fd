/** A request id as it appears in input and output lines: the line's `id` (or OpenAI `custom_id`), else its 1-based line number. */
export type RequestId = string | number;

/**
 * The one string form of a request id used for sharding and for matching ids across files.
 * Numbers and strings are kept apart (`7` and `"7"` are different requests): `n:<String(id)>` for a
 * number (ECMAScript's shortest round-trip form, e.g. `n:42`, `n:1.5`), `s:<id>` for a string.
 */
export function canonicalRequestId(id: RequestId): string {
  return typeof id === 'number' ? `n:${String(id)}` : `s:${id}`;
}

export function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}
