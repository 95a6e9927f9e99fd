/**
 * Downloads a hub model's files with transformers.js's own hub client and file cache (no downloader of our own):
 * config.json through AutoConfig, the tokenizer files through AutoTokenizer, and generation_config.json, the
 * chosen graph and its external data through AutoModelForCausalLM.from_pretrained with a fetch-only session
 * (see fetchOnlyBackend.ts). Files already in the cache are not asked for again. The result is the cache
 * folder, a normal model folder for the rest of qwen-gen.
 *
 * transformers.js writes every streamed file to a temporary name and renames it when complete; fetch fails a
 * body cut short of its Content-Length; and each file is checked against the size the server announced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AutoConfig, AutoModelForCausalLM, AutoTokenizer } from '@huggingface/transformers';
import { UserError } from '../../errors';
import type { DeviceName } from '../../deviceName';
import { DtypeName, onnxFileForDtype } from '../../dtypeFiles';
import { autoDtypeCandidates, autoReason, configRecommendedDtype, DtypeRequest, listDtypeVariants, selectLocalDtype } from '../dtype';
import { inspectGraph } from '../graphInfo';
import { validateModelConfig } from '../validateModel';
import { DownloadProgress, DownloadTracker } from './downloadEvents';
import { fetchOnlyExecutionProviders } from './fetchOnlyBackend';
import { errorParts, httpStatus, hubUserError, TruncatedDownloadError } from './hubErrors';
import { HubSettings, hubCacheFolder } from './hubSettings';
import { withTransformersHubEnv } from './transformersEnv';

export interface HubDownloadRequest {
  modelId: string;
  settings: HubSettings;
  dtype: DtypeRequest;
  device: DeviceName;
  onProgress?: (event: DownloadProgress) => void;
  /** Appended to error messages. */
  hint?: string;
}

export interface HubModelFiles {
  dir: string;
  onnxFile: string;
  dtype: DtypeName;
  dtypeReason: string;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

export async function downloadHubModel(request: HubDownloadRequest): Promise<HubModelFiles> {
  const { modelId, settings } = request;
  const dir = hubCacheFolder(settings.cacheDir, modelId, settings.revision);
  const tracker = new DownloadTracker(request.onProgress, (file) => fs.existsSync(path.join(dir, file)));
  const download = new HubFetcher(modelId, dir, settings, tracker);
  return withTransformersHubEnv(settings.hubUrl, async () => {
    try {
      const config = await download.config();
      validateModelConfig(dir, config);
      await download.tokenizer();
      const choice = await download.graph(request.dtype, request.device, config);
      await download.externalData(choice.onnxFile, choice.dtype);
      return { dir, ...choice };
    } catch (error) {
      await removePartialFiles(dir);
      throw hubUserError(error, { modelId, revision: settings.revision, hubUrl: settings.hubUrl, files: tracker.inFlight(), hint: request.hint });
    }
  });
}

/**
 * transformers.js writes each file to `<name>.tmp.<pid>.<random>` and renames it when complete; after a dropped
 * connection its own cleanup of that file can still be pending when the error reaches us. Let it run, then remove
 * whatever partial file is left, so a failed download never leaves one in the cache.
 */
async function removePartialFiles(dir: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  const partial = /\.tmp\.\d+\.[^/]+$/;
  const visit = (folder: string): void => {
    if (!fs.existsSync(folder)) return;
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (partial.test(entry.name)) fs.rmSync(full, { force: true });
    }
  };
  visit(dir);
}

class HubFetcher {
  constructor(
    private readonly modelId: string,
    private readonly dir: string,
    private readonly settings: HubSettings,
    private readonly tracker: DownloadTracker,
  ) {}

  private get options() {
    return { revision: this.settings.revision, cache_dir: this.settings.cacheDir, progress_callback: this.tracker.callback };
  }

  async config(): Promise<Record<string, unknown>> {
    if (!this.cached('config.json')) await this.fetch(['config.json'], () => AutoConfig.from_pretrained(this.modelId, this.options));
    const text = fs.readFileSync(this.expectInCache('config.json'), 'utf8');
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new UserError(`config.json of ${this.modelId} is not valid JSON (${(error as Error).message}); delete ${this.dir} and run again`);
    }
  }

  async tokenizer(): Promise<void> {
    if (TOKENIZER_FILES.every((file) => this.cached(file))) return;
    this.tracker.beginCall();
    try {
      await AutoTokenizer.from_pretrained(this.modelId, this.options);
    } catch (error) {
      // transformers.js probes tokenizer_config.json first and, when the hub lacks it, fails on parsing nothing
      const { name, message } = errorParts(error);
      if (name !== 'TypeError' || /^(terminated|fetch failed)$/.test(message)) throw error;
    }
    const missing = TOKENIZER_FILES.filter((file) => !this.cached(file));
    if (missing.length > 0) {
      throw new UserError(`${this.modelId} (revision ${this.settings.revision}) at ${this.settings.hubUrl} has no ${missing.join(' / ')}: qwen-gen needs the model's tokenizer.json and tokenizer_config.json`);
    }
    this.checkSizes(TOKENIZER_FILES);
  }

  /** Downloads the graph of the requested dtype; `auto` takes a cached variant, else the first the hub has. */
  async graph(requested: DtypeRequest, device: DeviceName, config: Record<string, unknown>): Promise<{ onnxFile: string; dtype: DtypeName; dtypeReason: string }> {
    if (requested !== 'auto') {
      const onnxFile = onnxFileForDtype(requested);
      await this.graphFile(requested);
      return { onnxFile, dtype: requested, dtypeReason: `--dtype ${requested} (${onnxFile})` };
    }
    if (listDtypeVariants(this.dir).length > 0) {
      const choice = selectLocalDtype(this.dir, 'auto', device, config);
      return { onnxFile: choice.onnxFile, dtype: choice.dtype, dtypeReason: `${choice.reason} (from the cache)` };
    }
    const recommended = configRecommendedDtype(config);
    const skipped: DtypeName[] = [];
    for (const dtype of autoDtypeCandidates(device, recommended)) {
      try {
        await this.graphFile(dtype);
      } catch (error) {
        if (isNotFound(error, onnxFileForDtype(dtype))) {
          skipped.push(dtype);
          continue;
        }
        throw error;
      }
      const dtypeReason = autoReason(dtype, device, recommended, skipped, skipped.length === 1 ? 'is not on the hub' : 'are not on the hub');
      return { onnxFile: onnxFileForDtype(dtype), dtype, dtypeReason };
    }
    throw new UserError(`${this.modelId} (revision ${this.settings.revision}) at ${this.settings.hubUrl} has none of ${skipped.map(onnxFileForDtype).join(', ')}`);
  }

  /** The external data files the graph refers to, one request each (transformers.js buffers them). */
  async externalData(onnxFile: string, dtype: DtypeName): Promise<void> {
    const graph = await inspectGraph(path.join(this.dir, onnxFile));
    const onnxDir = path.posix.dirname(onnxFile);
    for (const location of graph.externalData.files) {
      const file = path.posix.normalize(`${onnxDir}/${location}`);
      if (file.startsWith('../') || path.isAbsolute(location)) {
        throw new UserError(`${onnxFile} of ${this.modelId} refers to external data outside its folder (${location})`);
      }
      if (this.cached(file)) continue;
      await this.fetch([file], () => this.fromPretrained(dtype, [{ path: location, data: file }]));
    }
  }

  private async graphFile(dtype: DtypeName): Promise<void> {
    const onnxFile = onnxFileForDtype(dtype);
    if (this.cached(onnxFile)) return;
    await this.fetch([onnxFile], () => this.fromPretrained(dtype, []));
  }

  /** A from_pretrained whose session is a stand-in: it downloads generation_config.json, the graph and `externalData`. */
  private async fromPretrained(dtype: DtypeName, externalData: { path: string; data: string }[]): Promise<void> {
    const model = await AutoModelForCausalLM.from_pretrained(this.modelId, {
      ...this.options,
      dtype,
      device: 'cpu',
      use_external_data_format: false,
      session_options: {
        executionProviders: fetchOnlyExecutionProviders(),
        ...(externalData.length > 0 ? { externalData } : {}),
      },
    });
    await model.dispose();
  }

  /** Runs a transformers.js call, then checks each of `files` is in the cache with the size the server announced. */
  private async fetch(files: string[], call: () => Promise<unknown>): Promise<void> {
    this.tracker.beginCall();
    await call();
    for (const file of files) this.expectInCache(file);
    this.checkSizes(files);
  }

  /** A file shorter than its announced Content-Length is removed: the cache never keeps a truncated file. */
  private checkSizes(files: string[]): void {
    for (const file of files) {
      const cachedPath = path.join(this.dir, file);
      const announced = this.tracker.announcedBytes(file);
      const received = fs.statSync(cachedPath).size;
      if (announced !== undefined && received < announced) {
        fs.rmSync(cachedPath, { force: true });
        throw new TruncatedDownloadError(file, announced, received);
      }
    }
  }

  private cached(file: string): boolean {
    return fs.existsSync(path.join(this.dir, file));
  }

  private expectInCache(file: string): string {
    const cachedPath = path.join(this.dir, file);
    if (!fs.existsSync(cachedPath)) {
      throw new UserError(`transformers.js reported ${file} of ${this.modelId} as loaded, but it is not in ${this.dir} (has its cache layout changed?)`);
    }
    return cachedPath;
  }
}

function isNotFound(error: unknown, file: string): boolean {
  return httpStatus(error) === 404 && errorParts(error).message.includes(`/${file}`);
}
