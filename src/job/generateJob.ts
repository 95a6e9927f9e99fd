import { Report } from '../diagnostics/report';
import { finishReport, JobOutcome, jobResult } from './closeJob';
import { resolveDefaults } from './generationDefaults';
import { GenerateJobOptions, GenerateJobResult } from './jobOptions';
import { loadCheckedModel } from './loadCheckedModel';
import { OpenedJob, openJob } from './openJob';
import { prepareRequests } from './prepareRequests';
import { RecordWriter } from './recordWriter';
import { runEngine } from './runEngine';
import { settingsFingerprint } from './settingsFingerprint';
import { StageTimer } from './stageTimer';
import { reorderFile } from '../output/reorderFile';
import { inputOrder } from './inputOrder';
import { compileRunConstraints } from './structuredOutputs';

export type { GenerateJobOptions, GenerateJobResult, OutputFormat } from './jobOptions';

/** The generate pipeline: input → tokenize → schedule/run/sample (engine) → output, with diagnostics alongside. */
export async function runGenerateJob(options: GenerateJobOptions): Promise<GenerateJobResult> {
  const started = performance.now();
  const timer = new StageTimer();
  const opened = await openJob(options, timer);
  try {
    return await generate(opened, options, timer, started);
  } finally {
    opened.target.release(); // already released when the output was closed; this covers a failure before that
  }
}

async function generate(opened: OpenedJob, options: GenerateJobOptions, timer: StageTimer, started: number): Promise<GenerateJobResult> {
  const { input, target, todo } = opened;
  const loading = loadCheckedModel(options, timer);
  const { model, diagnostics } = await (options.steps ? options.steps.around(loading) : loading);
  const defaults = resolveDefaults(model.folder.generationConfig, options.flags);
  const settings = settingsFingerprint(model, defaults);
  const records = new RecordWriter(await target.open(settings), {
    settings,
    format: input.format,
    model: model.spec,
    includeTokenIds: options.tokenIds,
    timer,
    onRecord: options.onRecord,
    beforeStdoutWrite: options.beforeStdoutWrite,
    ordered: options.ordered ? [...input.inputErrors.map((e) => e.index), ...todo.map((r) => r.index)] : undefined,
  });
  let outcome: JobOutcome;
  let report: Report;
  try {
    for (const error of input.inputErrors) {
      records.failure({ id: error.id, index: error.index, code: error.code, message: error.message, line: error.line });
    }
    const tokenized = timer.timeSync('tokenize', () => prepareRequests(todo, defaults, model, diagnostics, records));
    // Structured outputs: each distinct constraint compiled once against the model's tokenizer.
    const { kept: prepared, run: constraints } = await timer.time('compile', () =>
      compileRunConstraints(tokenized, model, (request, message) => {
        const { id, index, customId, line } = request.request;
        records.failure({ id, index, customId, code: 'invalid_field', message, line });
      }),
    );
    const run = await runEngine(prepared, { model, settings, records, diagnostics, timer, constraints }, options);
    outcome = { input, settings, run, records, timer, started, structured: constraints.stats };
    report = finishReport(diagnostics, outcome, options.signal);
  } finally {
    records.close();
    await model.runner.release();
  }
  if (options.ordered && options.output !== undefined) await reorderFile(options.output, inputOrder(input));
  return jobResult(outcome, report);
}
