export type Severity = 'info' | 'warning' | 'error';

/** One thing that makes batched generation wrong or surprising, with its evidence and what qwen-gen did about it. */
export interface Finding {
  /** Stable identifier: CI jobs and docs refer to it. */
  code: string;
  severity: Severity;
  /** One line, for people. */
  message: string;
  /** Token ids, strings, config files and keys, request ids: whatever proves the finding. */
  evidence: Record<string, unknown>;
  /** What qwen-gen did about it. */
  action: string;
}

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
