import * as path from 'node:path';
import { DeviceName } from '../deviceName';
import { loadTokenizer, Tokenizer } from '../tokenize/tokenizer';
import { derivedGraphOptions, DerivedGraphPlan, DerivedRewrite, planDerivedGraph } from './derivedGraph';
import { GraphInfo, inspectGraph } from './graphInfo';
import { ModelFolder, openModelFolder } from './modelFolder';
import { ModelSource, ModelSourceOptions, resolveModelSource } from './modelSource';
import { onnxFileError } from './onnxFileProblem';
import { readSpecialTokens, SpecialTokens } from './specialTokens';
import { validateModelFolder } from './validateModel';

export interface ModelFilesOptions extends Omit<ModelSourceOptions, 'device'> {
  /** The device the run will use: `auto` picks the graph dtype that suits it. */
  device?: DeviceName;
  /** Non-fatal model problems (e.g. a tolerated model_type). */
  onWarning?: (message: string) => void;
  /**
   * Run the derived graph (default true): logits computed only at the one position per row that is read (when the graph
   * has no num_logits_to_keep), int8 compute in MatMulNBits, per-row activation quantization in dynamically quantized
   * graphs, an 8-bit lm_head in quantized ones (see derivedGraph.ts). It is written once beside the model; the user's
   * file is never modified.
   */
  derivedGraph?: boolean;
}

export interface DerivedGraphSummary {
  /** The derived file (null when the source graph runs: no rewrite applies, or it could not be written). */
  path: string | null;
  rewrites: DerivedRewrite[];
  /** Node count per op type of the user's file. */
  sourceOpTypes: Record<string, number>;
  /** Node count per op type of the graph that runs. */
  opTypes: Record<string, number>;
  /** Why the source graph runs, when it does. */
  reason?: string;
}

/** The model's files, read and validated, without an onnxruntime session (`--dry-run`, diagnostics). */
export interface ModelFiles {
  spec: string;
  source: ModelSource;
  folder: ModelFolder;
  /**
   * The graph that runs: the user's file as read, except `opTypes`, which are the derived graph's when one applies (so
   * batching decisions and findings see what runs; `derived.sourceOpTypes` keeps the file's own).
   */
  graph: GraphInfo;
  /** The derived graph's rewrites (planned; after loadModel, the ones of the file that runs), or null when disabled. */
  derived: DerivedGraphSummary | null;
  tokenizer: Tokenizer;
  tokens: SpecialTokens;
  /** The id used to fill padded positions (never read: the mask hides it). */
  fillTokenId: number;
  vocabSize: number;
  contextLength: number;
}

/**
 * Opens `-m`: `tiny`, a local folder or a hub id (downloaded through transformers.js's hub cache), with the graph file of
 * the chosen dtype; validates the folder, reads the graph's structure (not its weights), the tokenizer and the special
 * tokens. Creates no session.
 */
export async function openModelFiles(spec: string, options: ModelFilesOptions = {}): Promise<ModelFiles> {
  const source = await resolveModelSource(spec, { ...options, device: options.device ?? 'cpu' });
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
  const derived = options.derivedGraph === false ? null : summarizeDerived(graph, await planDerivedGraph(onnxPath, derivedGraphOptions(graph)));
  return {
    spec, source, folder, graph: withRunOpTypes(graph, derived), derived, tokenizer, tokens,
    fillTokenId: tokens.padTokenId ?? tokens.eosTokenIds[0] ?? 0,
    vocabSize: configNumber(folder.config, 'vocab_size') ?? 0,
    contextLength: configNumber(folder.config, 'max_position_embeddings') ?? Number.MAX_SAFE_INTEGER,
  };
}

function summarizeDerived(graph: GraphInfo, plan: DerivedGraphPlan | { reason: string }): DerivedGraphSummary {
  const source = { sourceOpTypes: graph.opTypes, opTypes: graph.opTypes };
  if ('reason' in plan) return { path: null, rewrites: [], ...source, reason: plan.reason };
  if (plan.rewrites.length === 0) return { path: null, rewrites: [], ...source, reason: plan.gatherReason ?? 'no rewrite applies to this graph' };
  return { path: plan.path, rewrites: plan.rewrites, sourceOpTypes: graph.opTypes, opTypes: plan.opTypes };
}

/** The graph facts with the op types of what runs. */
export function withRunOpTypes(graph: GraphInfo, derived: DerivedGraphSummary | null): GraphInfo {
  return { ...graph, opTypes: derived && derived.path !== null ? derived.opTypes : (derived?.sourceOpTypes ?? graph.opTypes) };
}

export function configNumber(config: Record<string, unknown>, key: string): number | undefined {
  return typeof config[key] === 'number' ? (config[key] as number) : undefined;
}

/** The id of a token string, or undefined when the vocabulary has no such token. */
export function tokenIdOf(tokenizer: Tokenizer, token: string): number | undefined {
  const [id] = (tokenizer as unknown as { convert_tokens_to_ids(tokens: string[]): (number | undefined)[] }).convert_tokens_to_ids([token]);
  return typeof id === 'number' && id >= 0 ? id : undefined;
}
