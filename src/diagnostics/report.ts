import { countBySeverity, Finding, Severity, sortFindings } from './finding';
import { Figures } from './figures';
import { FailOn, ReportExit, RunStop, runExit } from './gate';
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
  /** The run's exit code and why (see `runExit`): the --fail-on gate, failed requests, or a stop. */
  exit: ReportExit;
}

export interface ReportInput {
  model: ModelDescription;
  settings: string | null;
  findings: readonly Finding[];
  figures: Figures | null;
  failOn: FailOn;
  /** Requests that ended as error records (or would, in a dry run): exit 1 even when the gate passes. Default 0. */
  failedRequests?: number;
  /** The run stopped before every request was done (exit 130 or 3). */
  stop?: RunStop | null;
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
    exit: runExit(findings, input.failOn, input.failedRequests ?? 0, input.stop ?? null),
  };
}

export function packageVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}
