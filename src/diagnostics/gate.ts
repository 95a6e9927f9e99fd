import { ExitCode } from '../errors';
import { Finding, SEVERITY_RANK } from './finding';

/** `--fail-on`: the lowest severity that fails the run; `never` only reports. */
export type FailOn = 'never' | 'warning' | 'error';

export const FAIL_ON_LEVELS: readonly FailOn[] = ['never', 'warning', 'error'];

export const DEFAULT_FAIL_ON: FailOn = 'error';

/** The findings that trip the gate at this level. */
export function gateFindings(findings: readonly Finding[], failOn: FailOn): Finding[] {
  if (failOn === 'never') return [];
  return findings.filter((finding) => SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[failOn]);
}

/** 0 when the gate passes, 1 (the documented "some requests failed or the gate tripped" code) when it trips. */
export function gateExitCode(findings: readonly Finding[], failOn: FailOn): number {
  return gateFindings(findings, failOn).length > 0 ? ExitCode.someFailed : ExitCode.ok;
}
