import { loadModel, LoadedModel } from '../engine/loadModel';
import { GenerateJobOptions } from './jobOptions';
import { DiagnosticsOptions, RunDiagnostics } from './runDiagnostics';
import { StageTimer } from './stageTimer';

export interface CheckedModel {
  model: LoadedModel;
  /** Holds the model-level findings (reported once, in the end-of-run summary) and collects the rest of the run's. */
  diagnostics: RunDiagnostics;
}

type LoadOptions = Pick<GenerateJobOptions, 'model' | 'load' | 'failOn' | 'reportFile' | 'reportFormat' | 'flags' | 'batchSize' | 'ignoreFindings' | 'log'>;

/** Step 2: loads the model and collects what its files say about it (the findings of the end-of-run summary). */
export async function loadCheckedModel(options: LoadOptions, timer: StageTimer): Promise<CheckedModel> {
  const model = await timer.time('load', () => loadModel(options.model, options.load));
  const diagnostics = new RunDiagnostics(model, diagnosticsOptions(options));
  return { model, diagnostics };
}

/** The diagnostics settings of a run, from its options (a real run and a dry run alike). */
export function diagnosticsOptions(options: LoadOptions): DiagnosticsOptions {
  return {
    failOn: options.failOn,
    reportFile: options.reportFile,
    reportFormat: options.reportFormat,
    escapeSpecialTokens: options.flags.escapeSpecialTokens ?? false,
    requestedBatchSize: options.batchSize,
    ignoreFindings: options.ignoreFindings,
    explicitMaxTokens: options.flags.maxTokens !== undefined,
    log: options.log,
  };
}
