/**
 * Resolves the model the user named (`-m`) to a local model folder and the graph file to run:
 *   `tiny`        the built-in random-weight model (built once into its cache);
 *   a folder      that exists (checked first, so a local `org/name` folder wins over the hub);
 *   `org/name`    a hub model, downloaded through transformers.js into its file cache (or taken from the
 *                 cache alone with --offline / HF_HUB_OFFLINE=1).
 * The dtype picks the graph file (`onnx/model{suffix}.onnx`); `auto` says what it picked and why.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { ensureTinyModel } from '../tinymodel';
import type { DeviceName } from '../deviceName';
import { DtypeName } from '../dtypeFiles';
import { DtypeRequest, selectLocalDtype } from './dtype';
import { DownloadProgress } from './hub/downloadEvents';
import { downloadHubModel } from './hub/hubDownload';
import { isHubModelId, resolveHubSettings } from './hub/hubSettings';
import { cachedHubModel } from './hub/offlineSource';

export const DEFAULT_MODEL_ID = 'onnx-community/Qwen3-0.6B-ONNX';
export const TINY_MODEL_SPEC = 'tiny';

export type { DownloadProgress } from './hub/downloadEvents';
export { createDownloadProgress } from './hub/downloadProgress';

export interface ModelSourceOptions {
  /** Hub revision (branch, tag or commit); default 'main'. */
  revision?: string;
  /** Use only the cache; also HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** Hub or mirror base URL; also QWEN_GEN_HUB_URL or HF_ENDPOINT; default https://huggingface.co. */
  hubUrl?: string;
  /** Hub download cache; default $QWEN_GEN_CACHE/hub or ~/.cache/qwen-gen/hub. */
  cacheDir?: string;
  dtype?: DtypeRequest;
  device?: DeviceName;
  onProgress?: (event: DownloadProgress) => void;
  /** How the user named the model, for messages: `-m` (default), a command's argument (`inspect`), the API's `model`. */
  modelArgument?: ModelArgument;
}

export type ModelArgument = 'flag' | 'argument' | 'option';

/** The words of a message about the model the user named: `-m ./x` / `./x` / `model "./x"`, and how to ask for tiny. */
export function modelWords(spec: string, argument: ModelArgument = 'flag'): { subject: string; tiny: string; unset: string } {
  if (argument === 'argument') return { subject: spec, tiny: '"tiny"', unset: 'by generate when -m is not given' };
  if (argument === 'option') return { subject: `model "${spec}"`, tiny: "model: 'tiny'", unset: 'when options.model is not given' };
  return { subject: `-m ${spec}`, tiny: '-m tiny', unset: 'when -m is not given' };
}

export interface ModelSource {
  dir: string;
  /** Relative to `dir`, with '/': e.g. 'onnx/model_q4.onnx'. */
  onnxFile: string;
  dtype: DtypeName;
  dtypeReason: string;
  origin: 'tiny' | 'local' | 'hub';
}

export async function resolveModelSource(spec: string, options: ModelSourceOptions = {}): Promise<ModelSource> {
  const dtype = options.dtype ?? 'auto';
  const device = options.device ?? 'cpu';
  const words = modelWords(spec, options.modelArgument);
  if (spec === TINY_MODEL_SPEC) return localSource(await ensureTinyModel(), 'tiny', dtype, device);
  if (fs.existsSync(spec)) {
    if (!fs.statSync(spec).isDirectory()) {
      throw new UserError(`${words.subject} is a file; expected a model folder (config.json, tokenizer files, onnx/model*.onnx), a hub id org/name, or "tiny"`);
    }
    return localSource(path.resolve(spec), 'local', dtype, device);
  }
  if (!isHubModelId(spec)) {
    throw new UserError(
      `${words.subject}: no such folder, and not a hub model id (expected org/name, e.g. ${DEFAULT_MODEL_ID}); ` +
        `use ${words.tiny} for the built-in offline model`,
    );
  }
  const settings = resolveHubSettings(options);
  const hint =
    spec === DEFAULT_MODEL_ID
      ? `(${DEFAULT_MODEL_ID} is the default model, used ${words.unset}; for an offline smoke run use ${words.tiny}, the built-in random-weight model.)`
      : undefined;
  const files = settings.offline
    ? await cachedHubModel(spec, settings, dtype, device, hint)
    : await downloadHubModel({ modelId: spec, settings, dtype, device, onProgress: options.onProgress, hint });
  return { ...files, origin: 'hub' };
}

function localSource(dir: string, origin: 'tiny' | 'local', dtype: DtypeRequest, device: DeviceName): ModelSource {
  const choice = selectLocalDtype(dir, dtype, device);
  return { dir, onnxFile: choice.onnxFile, dtype: choice.dtype, dtypeReason: choice.reason, origin };
}
