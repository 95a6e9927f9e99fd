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
  renderQuietSummary,
  renderSummary,
  Report,
  requestFindings,
  RunStop,
  SequenceOutcome,
  shouldAnnotate,
} from '../diagnostics';
import { ContextFit } from '../schedule/contextFit';
import { prefixCacheOffFinding, sharedPrefixFinding } from '../diagnostics/prefixFindings';
import { EngineStats } from '../engine/engineStats';
import { GenerationRequest, InputError } from '../input/request';
import { ModelPlan } from '../engine/loadModel';
import { addedTokenTexts } from '../tokenize/literalText';
import { appendStepSummary } from '../diagnostics/stepSummary';
import { StructuredStats } from '../structured/structuredStats';

export type ReportFormat = 'json' | 'markdown';

export interface DiagnosticsOptions {
  failOn: FailOn;
  reportFile?: string;
  reportFormat: ReportFormat;
  escapeSpecialTokens: boolean;
  requestedBatchSize: number;
  /** --ignore-finding: codes left out of the findings (gate, summary, report). */
  ignoreFindings?: readonly string[];
  /** --max-tokens was given: every request's length cap was chosen by the user. */
  explicitMaxTokens?: boolean;
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

  constructor(private readonly model: ModelPlan, private readonly options: DiagnosticsOptions) {
    // Printed once, in the end-of-run summary (not also at load: the same message twice per run is noise).
    this.modelLevel = this.kept(modelFindings(model, { requestedBatchSize: options.requestedBatchSize }));
  }

  private kept(findings: Finding[]): Finding[] {
    const ignored = this.options.ignoreFindings ?? [];
    return findings.filter((finding) => !ignored.includes(finding.code));
  }

  /** A request was tokenized: its context fit. */
  addPrepared(fit: ContextFit | undefined): void {
    if (fit) this.contextFits.push(fit);
  }

  /** A request's output was written: its prompt tokens count in the figures (an interrupted run counts what ran). */
  addCompletedPrompt(promptTokens: number): void {
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
    /** Non-blank input lines before sharding (0: the `empty_input` finding). */
    inputLines?: number;
    /** The run stopped before every request was done (a signal, --max-time). */
    stop?: RunStop | null;
    structured?: StructuredStats;
  }): Report {
    const ownMaxTokens = new Set(input.requests.filter((r) => r.params.max_tokens !== undefined).map((r) => `${typeof r.id}:${r.id}`));
    const outcomes = this.outcomes.map((outcome) => ({
      ...outcome,
      explicitMaxTokens: this.options.explicitMaxTokens === true || ownMaxTokens.has(`${typeof outcome.id}:${outcome.id}`),
    }));
    const findings: Finding[] = this.kept([
      ...this.modelLevel,
      ...requestFindings({
        requests: input.requests,
        inputErrors: input.inputErrors,
        addedTokens: addedTokenTexts(this.model.tokenizer),
        escapeSpecialTokens: this.options.escapeSpecialTokens,
        contextFits: this.contextFits,
        inputLines: input.inputLines,
      }),
      ...outcomeFindings(outcomes, outcomeContextOf(this.model)),
      ...(input.stats ? [sharedPrefixFinding(input.stats), prefixCacheOffFinding(input.stats)].filter((f): f is Finding => f !== null) : []),
    ]);
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
          structured: input.structured,
        })
      : null;
    const report = buildReport({
      model: describeModel(this.model),
      settings: input.settings,
      findings,
      figures,
      failOn: this.options.failOn,
      failedRequests: input.failed,
      stop: input.stop ?? null,
    });
    if (this.options.reportFile) {
      const text = this.options.reportFormat === 'markdown' ? renderMarkdown(report) : JSON.stringify(report, null, 2) + '\n';
      fs.writeFileSync(this.options.reportFile, text);
    }
    return report;
  }

}

/**
 * The end-of-run summary on stderr (coloured on a terminal), plus GitHub annotations and the step summary under
 * GITHUB_ACTIONS=true. `quiet` (-q) keeps only the error findings and the one-line result.
 */
export function printRunSummary(
  report: Report,
  options: { quiet?: boolean; reportFile?: string } = {},
  stream: NodeJS.WriteStream = process.stderr,
): void {
  const color = colorLevel(process.env, Boolean(stream.isTTY)) > 0;
  const text = options.quiet ? renderQuietSummary(report, { color }) : renderSummary(report, { color, reportFile: options.reportFile });
  stream.write(text.replace(/\n?$/, '\n'));
  if (shouldAnnotate(process.env)) {
    const annotated = options.quiet ? report.findings.filter((f) => f.severity === 'error') : report.findings;
    for (const line of githubAnnotations(annotated)) stream.write(line + '\n');
  }
  appendStepSummary(report, process.env);
}
