import type { OrtApi } from './ortApi';

/** OrtErrorCode names, by value. */
export const ORT_ERROR_CODES: readonly string[] = [
  'ORT_OK', 'ORT_FAIL', 'ORT_INVALID_ARGUMENT', 'ORT_NO_SUCHFILE', 'ORT_NO_MODEL', 'ORT_ENGINE_ERROR',
  'ORT_RUNTIME_EXCEPTION', 'ORT_INVALID_PROTOBUF', 'ORT_MODEL_LOADED', 'ORT_NOT_IMPLEMENTED', 'ORT_INVALID_GRAPH',
  'ORT_EP_FAIL', 'ORT_MODEL_LOAD_CANCELED', 'ORT_MODEL_REQUIRES_COMPILATION', 'ORT_NOT_FOUND', 'ORT_DEVICE_RESET',
];

/** An error reported by onnxruntime through an `OrtStatus`: `message` is onnxruntime's own message, verbatim. */
export class OrtStatusError extends Error {
  override readonly name = 'OrtStatusError';
  constructor(
    message: string,
    /** OrtErrorCode value (see ORT_ERROR_CODES). */
    readonly code: number,
    /** The C API function that returned the status. */
    readonly operation: string,
  ) {
    super(message);
  }

  get codeName(): string {
    return ORT_ERROR_CODES[this.code] ?? `ORT error ${this.code}`;
  }
}

/**
 * Converts an `OrtStatus *` into an Error (NULL = success → undefined), always releasing the status.
 * Reading the message copies it into a JS string before ReleaseStatus frees it.
 */
export function statusToError(api: OrtApi, status: unknown, operation: string): OrtStatusError | undefined {
  if (!status) return undefined;
  try {
    const code = Number(api.GetErrorCode(status));
    const message = api.GetErrorMessage(status) as string | null;
    return new OrtStatusError(message || `${operation} failed (${ORT_ERROR_CODES[code] ?? code})`, code, operation);
  } finally {
    api.ReleaseStatus(status);
  }
}

/** Throws the status as an OrtStatusError (after releasing it); does nothing on success (NULL). */
export function checkStatus(api: OrtApi, status: unknown, operation: string): void {
  const error = statusToError(api, status, operation);
  if (error) throw error;
}
