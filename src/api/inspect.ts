import { inspectModel } from '../cli/commands/inspect';
import { Report } from '../diagnostics/report';
import { FailOn } from '../diagnostics/gate';
import { parseDtype } from '../model/dtype';
import { UserError } from '../errors';

export interface InspectOptions {
  dtype?: string;
  revision?: string;
  offline?: boolean;
  hubUrl?: string;
  failOn?: FailOn;
}

/**
 * The model-level report of `qwen-gen inspect --json`: attention kind, padding protocol, I/O, dims, special tokens and
 * findings (docs/report-schema.json; `figures` and `settings` are null). Loads the model and releases it.
 */
export async function inspect(model: string, options: InspectOptions = {}): Promise<Report> {
  try {
    return await inspectModel(model, options.failOn ?? 'error', {
      dtype: parseDtype(options.dtype ?? 'auto'),
      revision: options.revision ?? 'main',
      offline: options.offline,
      hubUrl: options.hubUrl,
    });
  } catch (error) {
    throw error instanceof UserError ? new Error(error.message) : error;
  }
}
