import { countBySeverity, Finding, Severity, sortFindings } from './finding';
import { Figures } from './figures';
import { FailOn, gateExitCode } from './gate';
import { ModelDescription } from './modelDescription';

export const REPORT_VERSION = 1;

/** The diagnostics report (`--report FILE`); its JSON Schema is docs/report-schema.json. */
export interface Report {
  version: typeof REPORT_VERSION;
  tool: { name: string; version: string };
  model: ModelDescription;
  /** The run's settings fingerprint (the same `settings` string every output line carries); null from inspect. */
  settings: string | null;
  /** Most severe first. */
  findings: Finding[];
  finding_counts: Record<Severity, number>;
  /** Null when nothing was generated (e.g. the run stopped before generating). */
  figures: Figures | null;
  /** The --fail-on gate: `code` is 0 or 1 from the findings alone (failed input lines set exit 1 on their own). */
  exit: { fail_on: FailOn; code: number };
}

export interface ReportInput {
  model: ModelDescription;
  settings: string | null;
  findings: readonly Finding[];
  figures: Figures | null;
  failOn: FailOn;
  /** Defaults to this package's version. */
  toolVersion?: string;
}

export function buildReport(input: ReportInput): Report {
  const findings = sortFindings(input.findings);
  return {
    version: REPORT_VERSION,
    tool: { name: 'qwen-gen', version: input.toolVersion ?? packageVersion() },
    model: input.model,
    settings: input.settings,
    findings,
    finding_counts: countBySeverity(findings),
    figures: input.figures,
    exit: { fail_on: input.failOn, code: gateExitCode(findings, input.failOn) },
  };
}

export function packageVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}
