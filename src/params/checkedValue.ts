/** The result of checking one parameter value against its row of the table (params/checkParamValue.ts). */
export type CheckedValue =
  | { ok: true; value: unknown }
  /** `at` is the element path suffix when one element of an array is bad ("[1]"). */
  | { ok: false; requirement: string; value: unknown; at?: string };
