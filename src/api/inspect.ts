import { buildReport, Report } from '../diagnostics/report';
import { DEFAULT_FAIL_ON, FailOn } from '../diagnostics/gate';
import { describeModel } from '../diagnostics/modelDescription';
import { modelFindings } from '../diagnostics/modelFindings';
import { closestName } from '../closestName';
import { inApiTerms } from './apiOptions';
import { parseDtype } from '../model/dtype';
import { loadModel, LoadModelOptions } from '../engine/loadModel';

export interface InspectOptions {
  dtype?: string;
  revision?: string;
  offline?: boolean;
  hubUrl?: string;
  failOn?: FailOn;
}

/** Loads the model (and releases its session), and returns the model-level report (`qwen-gen inspect`). */
export async function inspectModel(spec: string, failOn: FailOn = DEFAULT_FAIL_ON, source: LoadModelOptions = {}): Promise<Report> {
  const model = await loadModel(spec, source);
  try {
    return buildReport({ model: describeModel(model, { io: true }), settings: null, findings: modelFindings(model), figures: null, failOn });
  } finally {
    await model.runner.release();
  }
}

/**
 * The model-level report of `qwen-gen inspect --json`: attention kind, padding protocol, I/O, dims, special tokens and
 * findings (docs/report-schema.json; `figures` and `settings` are null). Loads the model and releases it.
 */
export async function inspect(model: string, options: InspectOptions = {}): Promise<Report> {
  for (const name of Object.keys(options)) {
    if ((INSPECT_OPTION_NAMES as readonly string[]).includes(name)) continue;
    const meant = closestName(name, INSPECT_OPTION_NAMES);
    throw new Error(`inspect(): unknown option "${name}"${meant !== undefined ? `; did you mean "${meant}"?` : ` (options: ${INSPECT_OPTION_NAMES.join(', ')})`}`);
  }
  try {
    return await inspectModel(model, options.failOn ?? DEFAULT_FAIL_ON, {
      dtype: parseDtype(options.dtype ?? 'auto'),
      revision: options.revision ?? 'main',
      offline: options.offline,
      hubUrl: options.hubUrl,
      modelArgument: 'option',
    });
  } catch (error) {
    throw inApiTerms(error);
  }
}

const INSPECT_OPTION_NAMES = ['dtype', 'revision', 'offline', 'hubUrl', 'failOn'] as const;
