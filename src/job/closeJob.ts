import { Report, RunStop } from '../diagnostics';
import { isStopReason } from './interruption';
import { EngineRun } from './runEngine';
import { GenerateJobResult } from './jobOptions';
import { JobInput } from './openJob';
import { RecordWriter } from './recordWriter';
import { RunDiagnostics } from './runDiagnostics';
import { StageTimer } from './stageTimer';
import { StructuredStats } from '../structured/structuredStats';

export interface JobOutcome {
  input: JobInput;
  settings: string;
  run: EngineRun;
  records: RecordWriter;
  timer: StageTimer;
  /** performance.now() when the job started. */
  started: number;
  /** Structured outputs: requests constrained, compile and mask times. */
  structured?: StructuredStats;
}

/** Step 5: the diagnostics report of the finished run (written to --report when asked), its exit code included. */
export function finishReport(diagnostics: RunDiagnostics, outcome: JobOutcome, signal: AbortSignal | undefined): Report {
  return diagnostics.finish({
    settings: outcome.settings,
    requests: outcome.input.requests,
    inputErrors: outcome.input.inputErrors,
    stats: outcome.run.stats,
    stages: outcome.timer.stages,
    written: outcome.records.written,
    failed: outcome.records.failed,
    totalMs: performance.now() - outcome.started,
    inputLines: outcome.input.inputLines,
    stop: runStop(signal, outcome.run.unfinished),
    structured: outcome.structured,
  });
}

/** A run aborted with requests not done stopped; one aborted after its last request completed did not. */
export function runStop(signal: AbortSignal | undefined, unfinished: number): RunStop | null {
  if (!signal?.aborted || unfinished === 0) return null;
  const reason: unknown = signal.reason;
  if (isStopReason(reason)) return { ...reason, notDone: unfinished };
  return { reason: 'interrupted', by: 'the abort signal', notDone: unfinished };
}

/** The job's result; its exit code is the report's (see runExit: stopped, then the gate, then failed requests). */
export function jobResult(outcome: JobOutcome, report: Report): GenerateJobResult {
  const { run, records } = outcome;
  const interrupted = report.exit.reason === 'interrupted' || report.exit.reason === 'max_time';
  return {
    exitCode: report.exit.code,
    findings: report.findings,
    report,
    stats: run.stats,
    stages: outcome.timer.stages,
    written: records.written,
    failed: records.failed,
    interrupted,
    unfinished: run.unfinished,
  };
}
