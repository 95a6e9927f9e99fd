import { loadModel, LoadedModel } from '../model/loadModel';
import { GenerateJobOptions } from './jobOptions';
import { RunDiagnostics } from './runDiagnostics';
import { StageTimer } from './stageTimer';

export interface CheckedModel {
  model: LoadedModel;
  /** Holds the model-level findings (already logged) and collects the rest of the run's. */
  diagnostics: RunDiagnostics;
}

type LoadOptions = Pick<GenerateJobOptions, 'model' | 'load' | 'failOn' | 'reportFile' | 'reportFormat' | 'flags' | 'batchSize' | 'log'>;

/** Step 2: loads the model and reports what its files say about it (warnings go to the log at once). */
export async function loadCheckedModel(options: LoadOptions, timer: StageTimer): Promise<CheckedModel> {
  const model = await timer.time('load', () => loadModel(options.model, options.load));
  const diagnostics = new RunDiagnostics(model, {
    failOn: options.failOn,
    reportFile: options.reportFile,
    reportFormat: options.reportFormat,
    escapeSpecialTokens: options.flags.escapeSpecialTokens ?? false,
    requestedBatchSize: options.batchSize,
    log: options.log,
  });
  return { model, diagnostics };
}
