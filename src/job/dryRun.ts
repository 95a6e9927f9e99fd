import * as fs from 'node:fs';
import { Report } from '../diagnostics/report';
import { gatheredLogitsPath } from '../model/gatheredLogitsGraph';
import { openModelFiles } from '../model/loadModel';
import { effectiveBatchSize } from '../schedule/batchingSupport';
import { planBatches, PlannedGroup } from '../schedule/batchPlan';
import { PrefixIndex } from '../schedule/prefixIndex';
import { planPrefixReuse, PrefixPlan } from '../schedule/prefixPlan';
import { LogitsMode, MemoryPlan } from '../schedule/memoryBudget';
import { resolveDefaults } from './generationDefaults';
import { GenerateJobOptions } from './jobOptions';
import { kvShapeOf, memoryPlanFor } from './memoryPlan';
import { checkMemoryFloor } from './memoryFloor';
import { plannedRuntime } from '../runtime/createRunner';
import { diagnosticsOptions } from './loadCheckedModel';
import { openJob } from './openJob';
import { prepareRequest } from './preparedRequest';
import { RunDiagnostics } from './runDiagnostics';
import { settingsFingerprint } from './settingsFingerprint';
import { StageTimer } from './stageTimer';

export interface DryRunResult {
  exitCode: number;
  report: Report;
  requests: number;
  refused: number;
  promptTokens: number;
  /** Completion tokens if every request ran to its max_tokens. */
  maxCompletionTokens: number;
  memory: MemoryPlan;
  logits: LogitsMode;
  batchSize: number;
  groups: PlannedGroup[];
  /** What prefix caching would save (null with --no-prefix-cache); `inexact`: this graph kind turns caching off at run time. */
  prefix: (PrefixPlan & { inexact: boolean }) | null;
}

/**
 * `--dry-run`: everything a run does before its first model step, and nothing after. Reads and validates the input,
 * checks the output path, opens the model's files (graph structure, tokenizer, configs: no weights, no session),
 * tokenizes every request and fits it to the context, runs the diagnostics, plans memory and the prefill groups. Emits
 * one record per input line (its token counts, or why it would be refused); generates nothing, writes no output file.
 */
export async function runDryRun(options: GenerateJobOptions, emit: (record: object) => void): Promise<DryRunResult> {
  const started = performance.now();
  const timer = new StageTimer();
  const { input, todo } = await openJob(options, timer);
  const files = await timer.time('load', () => openModelFiles(options.model, options.load));
  // No session: the report names the runtime a real run would use.
  const model = { ...files, runtime: plannedRuntime(options.load, files.graph.presentFromAttentionOp) };
  const diagnostics = new RunDiagnostics(model, diagnosticsOptions(options));
  const defaults = resolveDefaults(model.folder.generationConfig, options.flags);
  const settings = settingsFingerprint(model, defaults);

  let refused = input.inputErrors.length;
  for (const error of input.inputErrors) {
    emit({ id: error.id ?? null, index: error.index, line: error.line, error: { code: error.code, message: error.message } });
  }
  const sequences: { id: string | number; promptLength: number; maxTokens: number }[] = [];
  const prompts: number[][] = [];
  let promptTokens = 0;
  let maxCompletionTokens = 0;
  timer.timeSync('tokenize', () => {
    for (const request of todo) {
      const preparation = prepareRequest(request, defaults, model);
      const { id, index, line } = request;
      if (!preparation.ok) {
        refused++;
        diagnostics.addPrepared(preparation.fit);
        emit({ id, index, line, error: { code: preparation.code, message: preparation.message } });
        continue;
      }
      const { promptIds, settings: s, clampedFrom } = preparation.prepared;
      diagnostics.addPrepared(preparation.fit);
      promptTokens += promptIds.length;
      prompts.push(promptIds);
      maxCompletionTokens += s.maxTokens * s.n;
      for (let sample = 0; sample < s.n; sample++) sequences.push({ id, promptLength: promptIds.length, maxTokens: s.maxTokens });
      emit({ id, index, line, prompt_tokens: promptIds.length, max_tokens: s.maxTokens, ...(clampedFrom !== undefined ? { max_tokens_requested: clampedFrom } : {}), n: s.n });
    }
  });

  // The derived logits-gathering graph is built at the first real run; until it exists, plan for logits at every position.
  const derivedReady = options.load.gatherLogits !== false && fs.existsSync(gatheredLogitsPath(model.folder.onnxPath));
  const logits: LogitsMode = model.graph.hasLogitsToKeep || derivedReady ? 'one-per-row' : 'all-positions';
  const planFor = (maxMemory: number | undefined) =>
    memoryPlanFor(model, kvShapeOf(model.graph, model.folder.config), logits, model.runtime.kvCopies, { ...options, maxMemory });
  const memory = planFor(options.maxMemory);
  if (options.maxMemory !== undefined) {
    checkMemoryFloor(memory, Math.max(0, ...sequences.map((s) => s.promptLength + s.maxTokens)), (budget) => planFor(budget));
  }
  const batchSize = effectiveBatchSize(model.graph, options.batchSize);
  const groups = planBatches(sequences, { batchSize, maxBatchTokens: memory.maxBatchTokens, maxCacheTokens: memory.maxCacheTokens });
  // A plain-attention graph with a float16 KV cache fails the run's exactness check (src/engine/prefixReuseCheck.ts).
  const inexact = model.graph.attention !== 'gqa' && model.graph.kvDtype === 'float16';
  const prefix = options.prefixCache === false ? null : { ...planPrefixReuse(prompts, new PrefixIndex(prompts)), inexact };

  const report = diagnostics.finish({
    settings,
    requests: input.requests,
    inputErrors: input.inputErrors,
    stats: null,
    stages: timer.stages,
    written: 0,
    failed: refused,
    totalMs: performance.now() - started,
    inputLines: input.inputLines,
  });
  const exitCode = report.exit.code;
  return { exitCode, report, requests: todo.length, refused, promptTokens, maxCompletionTokens, memory, logits, batchSize, groups, prefix };
}
