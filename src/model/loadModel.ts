import * as fs from 'node:fs';
import { UserError } from '../cli/exitCodes';
import { choosePaddingProtocol, PaddingProtocol, PaddingSide } from '../padding/paddingProtocol';
import { ensureTinyModel } from '../tinymodel';
import { loadTokenizer, Tokenizer } from '../tokenize/tokenizer';
import { ensureGatheredLogitsGraph } from './gatheredLogitsGraph';
import { GraphInfo, inspectGraph } from './graphInfo';
import { ModelFolder, openModelFolder } from './modelFolder';
import { ModelRunner, RunnerOptions } from './modelRunner';
import { readSpecialTokens, SpecialTokens } from './specialTokens';

export interface LoadModelOptions extends RunnerOptions {
  /** Force a padding side; by default the protocol is chosen from the graph. */
  paddingSide?: PaddingSide;
  /**
   * Run a derived graph that computes logits only at the one position per row that is read (default true when the graph
   * has no num_logits_to_keep). It is written once beside the model; the user's file is never modified.
   */
  gatherLogits?: boolean;
}

/** Everything a generation run needs from the model, loaded once. */
export interface LoadedModel {
  spec: string;
  folder: ModelFolder;
  graph: GraphInfo;
  tokenizer: Tokenizer;
  runner: ModelRunner;
  tokens: SpecialTokens;
  /** The id used to fill padded positions (never read: the mask hides it). */
  fillTokenId: number;
  protocol: PaddingProtocol;
  /** Why the derived logits-gathering graph is not used, when it is not. */
  logitsPlan: string;
  vocabSize: number;
  contextLength: number;
  loadMs: number;
}

/** Resolves `-m`: `tiny` (the built-in model, built once into the cache) or a local folder. */
export async function resolveModelDir(spec: string): Promise<string> {
  if (spec === 'tiny') return ensureTinyModel();
  if (fs.existsSync(spec)) return spec;
  throw new UserError(
    `model "${spec}" is not a local folder; downloading from the hub is not available in this build. ` +
      'Use -m tiny for the built-in offline model, or -m path/to/model-folder.',
  );
}

export async function loadModel(spec: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const started = Date.now();
  const dir = await resolveModelDir(spec);
  const folder = openModelFolder(dir);
  const graph = await inspectGraph(folder.onnxPath);
  const tokenizer = await loadTokenizer(dir);
  const tokens = readSpecialTokens(folder, (token) => tokenIdOf(tokenizer, token));
  const numeric = (key: string) => (typeof folder.config[key] === 'number' ? (folder.config[key] as number) : undefined);
  const derived = options.gatherLogits === false || graph.hasLogitsToKeep ? null : await ensureGatheredLogitsGraph(folder.onnxPath);
  const runner = await ModelRunner.create(
    derived?.path ?? folder.onnxPath,
    {
      kvHeads: numeric('num_key_value_heads') ?? 0,
      headDim: numeric('head_dim') ?? (numeric('hidden_size') ?? 0) / (numeric('num_attention_heads') ?? 1),
    },
    options,
  );
  const fillTokenId = tokens.padTokenId ?? tokens.eosTokenIds[0] ?? 0;
  const protocol = choosePaddingProtocol(graph.attention, fillTokenId, options.paddingSide);
  return {
    spec, folder, graph, tokenizer, runner, tokens, fillTokenId, protocol,
    logitsPlan: runner.inputs.hasLogitsIndex
      ? 'derived graph: logits computed only at the position each row reads'
      : graph.hasLogitsToKeep
        ? 'num_logits_to_keep: logits computed for the last positions only'
        : `logits for every position (${derived && derived.path === null ? derived.reason : 'disabled'}); prefill is bounded by --max-batch-tokens`,
    vocabSize: numeric('vocab_size') ?? 0,
    contextLength: numeric('max_position_embeddings') ?? Number.MAX_SAFE_INTEGER,
    loadMs: Date.now() - started,
  };
}

/** The id of a token string, or undefined when the vocabulary has no such token. */
export function tokenIdOf(tokenizer: Tokenizer, token: string): number | undefined {
  const [id] = (tokenizer as unknown as { convert_tokens_to_ids(tokens: string[]): (number | undefined)[] }).convert_tokens_to_ids([token]);
  return typeof id === 'number' && id >= 0 ? id : undefined;
}
