import type { InputErrorCode } from './request';

/** The input as a whole cannot be used (unreadable file, no requests at all). Its message is for users. */
export class InputFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputFileError';
  }
}

/**
 * One problem found while validating one line. Validators throw it so the first problem wins;
 * parseRequestLine turns it into an InputError with the "line N: " prefix.
 */
export class LineProblem extends Error {
  constructor(
    readonly code: InputErrorCode,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(detail);
    this.name = 'LineProblem';
  }
}

/** `field "<path>" <requirement>, got <value>` — the shape of every ill-typed-field message. */
export function fieldProblem(field: string, requirement: string, value: unknown, code: InputErrorCode = 'invalid_field'): LineProblem {
  return new LineProblem(code, `field "${field}" ${requirement}, got ${describeValue(value)}`, field);
}

const MAX_SHOWN_CHARS = 40;

/** A short, user-readable rendering of a JSON value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > MAX_SHOWN_CHARS ? `${value.slice(0, MAX_SHOWN_CHARS)}…` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}
