/**
 * transformers.js 4.x exports no single-file downloader: its hub fetcher (getModelFile) is internal, and the
 * public routes to it are AutoConfig, AutoTokenizer and model `from_pretrained`. The last one downloads the
 * graph, its external data and generation_config.json into the cache, then builds an onnxruntime session.
 *
 * This module registers an onnxruntime "execution provider" whose sessions are empty stand-ins: a
 * `from_pretrained` call told to use it downloads and caches every file exactly as transformers.js does, then
 * resolves without reading the weights (the real session is created later by qwen-gen itself, from the cache).
 * It is registered with the onnxruntime instance transformers.js itself loads (resolved from its location,
 * through Node's own require) and with a negative priority, so nothing ever picks it by default.
 */
import { createRequire } from 'node:module';

export const FETCH_ONLY_PROVIDER = 'qwen-gen-fetch-only';

interface SessionHandlerStub {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: unknown[];
  outputMetadata: unknown[];
  dispose(): Promise<void>;
  run(): Promise<never>;
  startProfiling(): void;
  endProfiling(): void;
}

interface OrtBackendRegistry {
  registerBackend(name: string, backend: object, priority: number): void;
}

const fetchOnlyBackend = {
  async init(): Promise<void> {},
  async createInferenceSessionHandler(): Promise<SessionHandlerStub> {
    return {
      inputNames: [],
      outputNames: [],
      inputMetadata: [],
      outputMetadata: [],
      async dispose() {},
      async run() {
        throw new Error(`${FETCH_ONLY_PROVIDER} sessions only exist to download files; they cannot run`);
      },
      startProfiling() {},
      endProfiling() {},
    };
  },
};

let registered = false;

/** The `executionProviders` list that turns a transformers.js `from_pretrained` into a download. */
export function fetchOnlyExecutionProviders(): string[] {
  if (!registered) {
    const requireFromTransformers = createRequire(require.resolve('@huggingface/transformers'));
    const ort = requireFromTransformers('onnxruntime-node') as OrtBackendRegistry;
    try {
      ort.registerBackend(FETCH_ONLY_PROVIDER, fetchOnlyBackend, -1);
    } catch (error) {
      // another copy of this module (e.g. a second test file in the same process) registered its stub first
      if (!/cannot register backend/.test(String(error))) throw error;
    }
    registered = true;
  }
  return [FETCH_ONLY_PROVIDER];
}
