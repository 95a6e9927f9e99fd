export type Severity = 'info' | 'warning' | 'error';

/** One thing that makes batched generation wrong or surprising, with its evidence and what qwen-gen did about it. */
export interface Finding {
  /** Stable identifier: CI jobs and docs refer to it (the list is in findingCatalog.ts and docs/findings.md). */
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

export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error'];

/** Most severe first; stable within one severity. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { info: 0, warning: 0, error: 0 };
  for (const finding of findings) counts[finding.severity]++;
  return counts;
}
