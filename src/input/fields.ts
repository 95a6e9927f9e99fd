import { fieldProblem } from './errors';
import { isPlainObject } from './safeJson';

/** A request id: a non-empty string or a safe integer (larger integers would silently lose digits). */
export function checkId(value: unknown, field: string): string | number {
  if (typeof value === 'string' && value !== '') return value;
  if (Number.isSafeInteger(value)) return value as number;
  const hint = typeof value === 'number' && Number.isInteger(value) ? ' (integers beyond 2^53 lose digits; quote the id as a string)' : '';
  throw fieldProblem(field, `must be a non-empty string or an integer${hint}`, value);
}

/** The id a line would get if valid, for labelling its error record; undefined when it is not a valid id. */
export function idOrUndefined(value: unknown): string | number | undefined {
  if (typeof value === 'string' && value !== '') return value;
  return Number.isSafeInteger(value) ? (value as number) : undefined;
}

export function checkMetadata(value: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw fieldProblem(field, 'must be an object', value);
  return value;
}
