import { Report } from '../diagnostics';
import { ExitCode } from '../errors';
import { EngineRun } from './runEngine';
import { GenerateJobResult } from './jobOptions';
import { JobInput } from './openJob';
import { RecordWriter } from './recordWriter';
import { RunDiagnostics } from './runDiagnostics';
import { StageTimer } from './stageTimer';

export interface JobOutcome {
  input: JobInput;
  settings: string;
  run: EngineRun;
  records: RecordWriter;
  timer: StageTimer;
  /** performance.now() when the job started. */
  started: number;
}

/** Step 5: the diagnostics report of the finished run (written to --report when asked). */
export function finishReport(diagnostics: RunDiagnostics, outcome: JobOutcome): Report {
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
  });
}

/** The exit code: interrupted beats failed records or a tripped gate, which beat success. */
export function jobResult(outcome: JobOutcome, report: Report, aborted: boolean): GenerateJobResult {
  const { run, records } = outcome;
  const interrupted = aborted && run.unfinished > 0;
  const failed = records.failed > 0 || report.exit.code !== 0;
  return {
    exitCode: interrupted ? ExitCode.interrupted : failed ? ExitCode.someFailed : ExitCode.ok,
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
