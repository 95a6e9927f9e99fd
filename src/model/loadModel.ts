import { UserError } from '../errors';
import * as path from 'node:path';
import { BatchRunner } from '../padding/batchRunner';
import { choosePaddingProtocol, PaddingProtocol, PaddingSide } from '../padding/paddingProtocol';
import { assertDeviceAvailable, sessionCreationError } from '../runtime/device';
import { ModelSource, ModelSourceOptions, resolveModelSource } from './modelSource';
import { validateModelFolder } from './validateModel';
import { loadTokenizer, Tokenizer } from '../tokenize/tokenizer';
import { ensureGatheredLogitsGraph } from './gatheredLogitsGraph';
import { GraphInfo, inspectGraph } from './graphInfo';
import { onnxFileError } from './onnxFileProblem';
import { ModelFolder, openModelFolder } from './modelFolder';
import { createRunner, RunnerOptions } from '../runtime/createRunner';
import { ModelRunner, RuntimeDescription } from '../runtime/stepRunner';
import { readSpecialTokens, SpecialTokens } from './specialTokens';

export interface LoadModelOptions extends RunnerOptions, Omit<ModelSourceOptions, 'device'> {
  /** Force a padding side; by default the protocol is chosen from the graph. */
  paddingSide?: PaddingSide;
  /**
   * Run a derived graph that computes logits only at the one position per row that is read (default true when the graph
   * has no num_logits_to_keep). It is written once beside the model; the user's file is never modified.
   */
  gatherLogits?: boolean;
  /** Non-fatal model problems (e.g. a tolerated model_type). */
  onWarning?: (message: string) => void;
}

/** The model's files, read and validated, without an onnxruntime session (`--dry-run`, diagnostics). */
export interface ModelFiles {
  spec: string;
  source: ModelSource;
  folder: ModelFolder;
  graph: GraphInfo;
  tokenizer: Tokenizer;
  tokens: SpecialTokens;
  /** The id used to fill padded positions (never read: the mask hides it). */
  fillTokenId: number;
  protocol: PaddingProtocol;
  vocabSize: number;
  contextLength: number;
}

/** Everything a generation run needs from the model, loaded once. */
export interface LoadedModel extends ModelFiles {
  runner: ModelRunner;
  /** The protocol and the runner behind one interface: what the engine drives. */
  batchRunner: BatchRunner;
  /** What runs the graph (the runner's own description). */
  runtime: RuntimeDescription;
  /** Why the derived logits-gathering graph is not used, when it is not. */
  logitsPlan: string;
  loadMs: number;
}

/**
 * Opens `-m`: `tiny`, a local folder or a hub id (downloaded through transformers.js's hub cache), with the graph file of
 * the chosen dtype; validates the folder, reads the graph's structure (not its weights), the tokenizer and the special
 * tokens. Creates no session.
 */
export async function openModelFiles(spec: string, options: LoadModelOptions = {}): Promise<ModelFiles> {
  const device = options.device ?? 'cpu';
  assertDeviceAvailable(device);
  const source = await resolveModelSource(spec, { ...options, device });
  const onnxPath = path.join(source.dir, source.onnxFile);
  // A Git LFS pointer, an empty, truncated or non-ONNX file: named as such, not as a protobuf decoding error.
  const notOnnx = onnxFileError(onnxPath);
  if (notOnnx) throw notOnnx;
  const graph = await inspectGraph(onnxPath).catch((error: unknown) => {
    throw onnxFileError(onnxPath, error) ?? error;
  });
  const validation = await validateModelFolder(source.dir, source.onnxFile, graph);
  for (const warning of validation.warnings) options.onWarning?.(warning);
  const folder = openModelFolder(source.dir, source.onnxFile);
  const tokenizer = await loadTokenizer(source.dir);
  const tokens = readSpecialTokens(folder, (token) => tokenIdOf(tokenizer, token));
  const fillTokenId = tokens.padTokenId ?? tokens.eosTokenIds[0] ?? 0;
  const protocol = choosePaddingProtocol(graph.attention, fillTokenId, options.paddingSide);
  return {
    spec, source, folder, graph, tokenizer, tokens, fillTokenId, protocol,
    vocabSize: configNumber(folder, 'vocab_size') ?? 0,
    contextLength: configNumber(folder, 'max_position_embeddings') ?? Number.MAX_SAFE_INTEGER,
  };
}

function configNumber(folder: ModelFolder, key: string): number | undefined {
  return typeof folder.config[key] === 'number' ? (folder.config[key] as number) : undefined;
}

/** openModelFiles, then the onnxruntime session (on the derived logits-gathering graph when it applies). */
export async function loadModel(spec: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const started = Date.now();
  const device = options.device ?? 'cpu';
  const files = await openModelFiles(spec, options);
  const { folder, graph } = files;
  const numeric = (key: string) => configNumber(folder, key);
  const derived = options.gatherLogits === false || graph.hasLogitsToKeep ? null : await ensureGatheredLogitsGraph(folder.onnxPath);
  const runner = await createRunner(
    derived?.path ?? folder.onnxPath,
    {
      kvHeads: numeric('num_key_value_heads') ?? 0,
      headDim: numeric('head_dim') ?? (numeric('hidden_size') ?? 0) / (numeric('num_attention_heads') ?? 1),
      vocabSize: numeric('vocab_size') ?? 0,
      sharePastPresent: graph.presentFromAttentionOp,
    },
    options,
  ).catch((error: unknown) => {
    throw error instanceof UserError ? error : sessionCreationError(device, folder.onnxPath, error);
  });
  return {
    ...files,
    runner,
    batchRunner: new BatchRunner(runner, files.protocol),
    runtime: runner.runtime,
    logitsPlan: runner.inputs.hasLogitsIndex
      ? 'derived graph: logits computed only at the position each row reads'
      : graph.hasLogitsToKeep
        ? 'num_logits_to_keep: logits computed for the last positions only'
        : `logits for every position (${derived && derived.path === null ? derived.reason : 'disabled'}); prefill is bounded by --max-batch-tokens`,
    loadMs: Date.now() - started,
  };
}

/** The id of a token string, or undefined when the vocabulary has no such token. */
export function tokenIdOf(tokenizer: Tokenizer, token: string): number | undefined {
  const [id] = (tokenizer as unknown as { convert_tokens_to_ids(tokens: string[]): (number | undefined)[] }).convert_tokens_to_ids([token]);
  return typeof id === 'number' && id >= 0 ? id : undefined;
}
