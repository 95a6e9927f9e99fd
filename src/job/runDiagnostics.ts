import * as fs from 'node:fs';
import {
  buildFigures,
  buildReport,
  colorLevel,
  describeModel,
  FailOn,
  Finding,
  githubAnnotations,
  modelFindings,
  outcomeContextOf,
  outcomeFindings,
  renderMarkdown,
  renderSummary,
  Report,
  requestFindings,
  SequenceOutcome,
  shouldAnnotate,
} from '../diagnostics';
import { ContextFit } from '../schedule/contextFit';
import { EngineStats } from '../engine/engineStats';
import { GenerationRequest, InputError } from '../input/request';
import { LoadedModel } from '../model/loadModel';
import { addedTokenTexts } from '../tokenize/literalText';

export type ReportFormat = 'json' | 'markdown';

export interface DiagnosticsOptions {
  failOn: FailOn;
  reportFile?: string;
  reportFormat: ReportFormat;
  escapeSpecialTokens: boolean;
  requestedBatchSize: number;
  log: (message: string) => void;
}

/**
 * Collects what the diagnostics report needs as the job runs (model facts at load, context fits at tokenization,
 * how each sequence ended), then writes the report, the stderr summary and CI annotations, and applies the gate.
 */
export class RunDiagnostics {
  readonly modelLevel: Finding[];
  private readonly contextFits: ContextFit[] = [];
  private readonly outcomes: SequenceOutcome[] = [];
  private promptTokens = 0;
  private completionTokens = 0;

  constructor(private readonly model: LoadedModel, private readonly options: DiagnosticsOptions) {
    this.modelLevel = modelFindings(model, { requestedBatchSize: options.requestedBatchSize });
    for (const finding of this.modelLevel) {
      if (finding.severity !== 'info') options.log(`${finding.severity}: ${finding.message}`);
    }
  }

  /** A request was tokenized: its context fit, and its prompt tokens when it will run. */
  addPrepared(fit: ContextFit | undefined, promptTokens: number): void {
    if (fit) this.contextFits.push(fit);
    this.promptTokens += promptTokens;
  }

  /** A sequence finished: how it ended and how many tokens it generated. */
  addOutcome(outcome: SequenceOutcome, completionTokens: number): void {
    this.outcomes.push(outcome);
    this.completionTokens += completionTokens;
  }

  /** Builds the report and writes it to --report. Returns the report (its exit.code is the gate). */
  finish(input: {
    settings: string;
    requests: readonly GenerationRequest[];
    inputErrors: readonly InputError[];
    stats: EngineStats | null;
    stages: Record<string, number>;
    written: number;
    failed: number;
    totalMs: number;
  }): Report {
    const findings: Finding[] = [
      ...this.modelLevel,
      ...requestFindings({
        requests: input.requests,
        inputErrors: input.inputErrors,
        addedTokens: addedTokenTexts(this.model.tokenizer),
        escapeSpecialTokens: this.options.escapeSpecialTokens,
        contextFits: this.contextFits,
      }),
      ...outcomeFindings(this.outcomes, outcomeContextOf(this.model)),
    ];
    const figures = input.stats
      ? buildFigures({
          stats: input.stats,
          timings: {
            loadMs: input.stages.load ?? 0,
            tokenizeMs: input.stages.tokenize ?? 0,
            writeMs: input.stages.write ?? 0,
            totalMs: input.totalMs,
          },
          requests: input.written,
          failedRequests: input.failed,
          promptTokens: this.promptTokens,
          completionTokens: this.completionTokens,
        })
      : null;
    const report = buildReport({ model: describeModel(this.model), settings: input.settings, findings, figures, failOn: this.options.failOn });
    if (this.options.reportFile) {
      const text = this.options.reportFormat === 'markdown' ? renderMarkdown(report) : JSON.stringify(report, null, 2) + '\n';
      fs.writeFileSync(this.options.reportFile, text);
    }
    return report;
  }

}

/** The end-of-run summary on stderr (coloured on a terminal), plus GitHub annotations under GITHUB_ACTIONS=true. */
export function printRunSummary(report: Report, stream: NodeJS.WriteStream = process.stderr): void {
  const level = colorLevel(process.env, Boolean(stream.isTTY));
  stream.write(renderSummary(report, { color: level > 0 }).replace(/\n?$/, '\n'));
  if (shouldAnnotate(process.env)) for (const line of githubAnnotations(report.findings)) stream.write(line + '\n');
}
