import * as os from 'node:os';
import { KvShape, kvBytesPerToken as kvBytesPerTokenOf } from '../runtime/kvShape';

export type LogitsMode = 'one-per-row' | 'all-positions';

export interface MemoryBudgetInput {
  /** Bytes qwen-gen may use for KV cache, logits and activations (not the weights). */
  budgetBytes: number;
  kv: KvShape;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  /** Whether the graph computes logits for every prompt position or only where they are read. */
  logits: LogitsMode;
  /** Copies of the KV cache the runtime holds at once (its `runtime.kvCopies`). */
  kvCopies: number;
  /** --max-batch-tokens when given: never raised, only lowered to fit the budget. */
  requestedMaxBatchTokens?: number;
  /** Memory the budget must leave to other uses, by name (none yet): taken off before the split. */
  reserved?: Readonly<Record<string, number>>;
}

export interface MemoryPlan {
  budgetBytes: number;
  /** The budget's part left to other uses (MemoryBudgetInput.reserved). */
  reservedBytes: number;
  kvBytesPerToken: number;
  /** Prefill tokens per step (pads included); longer prompts are chunked. */
  maxBatchTokens: number;
  /** Cache token slots all running rows may reach together. */
  maxCacheTokens: number;
  /** The estimate behind maxBatchTokens: logits + activations of one prefill step at that size. */
  prefillBytes: number;
}

/** The prefill step (logits + activations) may take this share of the budget; the KV cache gets the rest. */
const PREFILL_SHARE = 0.4;

/** Bytes of one prefill step over `tokens` positions: its logits buffer(s) and the largest activations. */
export function prefillStepBytes(input: MemoryBudgetInput, tokens: number): number {
  const logitsPositions = input.logits === 'all-positions' ? tokens : Math.min(tokens, 64);
  const logits = 2 * logitsPositions * input.vocabSize * 4; // ORT's output and its JS copy
  const mlp = tokens * input.intermediateSize * 3 * 4;
  const attentionScores = input.heads * tokens * tokens * 4; // plain graphs materialise [heads, S, T] scores
  const hidden = tokens * input.hiddenSize * 8 * 4;
  return logits + mlp + attentionScores + hidden;
}

/** Splits a memory budget into a prefill size and a KV cache size; the scheduler admits within both. */
export function planMemory(input: MemoryBudgetInput): MemoryPlan {
  const kvBytesPerToken = kvBytesPerTokenOf(input.kv);
  const reservedBytes = Object.values(input.reserved ?? {}).reduce((sum, bytes) => sum + bytes, 0);
  const available = Math.max(0, input.budgetBytes - reservedBytes);
  const prefillBudget = available * PREFILL_SHARE;
  let maxBatchTokens = input.requestedMaxBatchTokens ?? 2048;
  while (maxBatchTokens > 16 && prefillStepBytes(input, maxBatchTokens) > prefillBudget) maxBatchTokens = Math.floor(maxBatchTokens * 0.8);
  const prefillBytes = prefillStepBytes(input, maxBatchTokens);
  const maxCacheTokens = Math.max(1, Math.floor((available - prefillBytes) / (kvBytesPerToken * input.kvCopies)));
  return { budgetBytes: input.budgetBytes, reservedBytes, kvBytesPerToken, maxBatchTokens, maxCacheTokens, prefillBytes };
}

/** What the default budget is computed from (injectable for tests). */
export interface MemoryFacts {
  /** Free memory of the machine (or, where Node knows it, what is still available to this process). */
  freeBytes: number;
  /** The cgroup (container) memory limit, from process.constrainedMemory(); 0, undefined or ~2^64 when unlimited. */
  constrainedBytes?: number;
  /** What this process uses already (the loaded model is part of it). */
  rssBytes: number;
  /**
   * Memory the model will take when its session is created and that `freeBytes` does not show yet (a plan made before
   * loading, `--dry-run`: the prepacked weights, runtime/sessionOptions.ts prepackedWeightBytes). 0 once loaded.
   */
  notYetLoadedBytes?: number;
}

export function currentMemoryFacts(): MemoryFacts {
  const proc = process as NodeJS.Process & { availableMemory?: () => number; constrainedMemory?: () => number | undefined };
  return {
    freeBytes: Math.min(os.freemem(), proc.availableMemory?.() ?? Infinity),
    constrainedBytes: proc.constrainedMemory?.(),
    rssBytes: process.memoryUsage().rss,
  };
}

/** A cgroup limit this large means "no limit" (cgroup v1 reports ~2^63, v2 "max"). */
const NO_LIMIT = 2 ** 60;

/**
 * The default budget: half of the memory still available once the model is loaded. In a container the machine's free
 * memory is not what the process may use: the cgroup limit (a 2 GiB Kubernetes pod) minus what the process already uses
 * bounds it, so the scheduler never plans past the limit and gets OOM-killed.
 */
export function defaultMemoryBudget(facts: MemoryFacts = currentMemoryFacts()): number {
  const pending = facts.notYetLoadedBytes ?? 0;
  let available = Math.max(0, facts.freeBytes - pending);
  const limit = facts.constrainedBytes;
  if (limit !== undefined && limit > 0 && limit < NO_LIMIT) available = Math.min(available, Math.max(0, limit - facts.rssBytes - pending));
  return Math.floor(available * 0.5);
}

/** Parses sizes such as `8GB`, `512MiB`, `1.5G`, `1000000` (bytes). */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (!match) return null;
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.floor(Number(match[1]) * scale);
  return bytes > 0 ? bytes : null;
}
