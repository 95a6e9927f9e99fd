import { EngineStats } from '../engine/engineStats';
import { ConstraintKind } from '../params/constraintParams';
import { emptyStructuredStats, StructuredStats } from '../structured/structuredStats';

/** Wall time of the stages the engine does not time itself, in milliseconds. */
export interface StageTimings {
  loadMs: number;
  tokenizeMs: number;
  writeMs: number;
  /** The whole run, start to end. */
  totalMs: number;
}

export interface FigureInput {
  stats: EngineStats;
  timings: StageTimings;
  /** Requests generated (each output line with a completion). */
  requests: number;
  /** Lines that ended as error records. */
  failedRequests: number;
  promptTokens: number;
  completionTokens: number;
  /** Defaults to this process's peak RSS (`peakRssBytes()`). */
  peakRssBytes?: number;
  /** Structured outputs (absent: nothing was constrained). */
  structured?: StructuredStats;
}

export interface PaddingWaste {
  pad_positions: number;
  positions: number;
  /** pad_positions / positions; 0 when nothing was computed. */
  fraction: number;
}

/** The run figures of the report (snake_case, as written to JSON). */
export interface Figures {
  requests: number;
  failed_requests: number;
  /** Prefill steps: each one a padded batch of new prompts. */
  batches: number;
  decode_steps: number;
  /** Times the running batch was rebuilt (rows removed or admitted). */
  rebuilds: number;
  /** Number of steps run at each batch size (keys are batch sizes). */
  batch_size_histogram: { prefill: Record<string, number>; decode: Record<string, number> };
  tokens: { prompt: number; completion: number };
  padding_waste: { prefill: PaddingWaste; decode: PaddingWaste & { note: string } };
  stage_ms: { load: number; tokenize: number; prefill: number; decode: number; write: number; total: number };
  tokens_per_second: {
    /** Completion tokens per second of prefill + decode time. */
    completion: number | null;
    /** Real prompt tokens per second of prefill time. */
    prefill: number | null;
    /** Completion tokens per second of the whole run's wall time. */
    completion_wall: number | null;
  };
  peak_rss_bytes: number;
  /** Automatic prefix caching (absent in reports written before it existed). */
  prefix_cache?: PrefixCacheFigures;
  /** Structured outputs (absent in reports written before they existed). */
  structured_output?: StructuredOutputFigures;
}

export interface StructuredOutputFigures {
  /** Requests constrained, by kind (json_schema: response_format json_schema or guided_json). */
  requests: Record<ConstraintKind, number>;
  /** Distinct constraints compiled (each once per run). */
  grammars_compiled: number;
  /** xgrammar's view of the tokenizer, built once per run. */
  tokenizer_info_ms: number;
  compile_ms: number;
  /** Tokens chosen under a grammar. */
  masked_tokens: number;
  /** Computing the allowed-token bitmasks; it runs while the model step runs where the runtime allows (direct runtime). */
  bitmask_ms: number;
  /** Masking the logits rows and accepting the chosen tokens: always between the step and the next one. */
  apply_ms: number;
  /** Waiting for bitmasks once a step's logits were ready (the bitmask time the step did not hide). */
  wait_ms: number;
  /** (bitmask_ms + apply_ms) per decode step and per masked token; null when there were none. */
  mask_ms_per_step: number | null;
  mask_ms_per_token: number | null;
  /** (wait_ms + apply_ms) per decode step: what the masks added to the decode loop's critical path; null as above. */
  critical_ms_per_step: number | null;
}

export interface PrefixCacheFigures {
  /** Distinct prompts started from a prefix computed before them. */
  hits: number;
  /** Prompt tokens those hits did not compute. */
  prompt_tokens_reused: number;
  /** Real prompt tokens computed at prefill (cached prefixes included). */
  prompt_tokens_computed: number;
  prefixes_computed: number;
  evictions: number;
}

export const DECODE_WASTE_NOTE =
  'qwen-gen removes a row from the batch as soon as it finishes, so decode never computes positions of finished rows';

const DECODE_WASTE_NOTE_NONZERO = 'positions computed for rows that had already finished but were still in the batch';

/** Peak resident set size of this process so far (`maxRSS` is in kilobytes). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function buildFigures(input: FigureInput): Figures {
  const { stats, timings } = input;
  return {
    requests: input.requests,
    failed_requests: input.failedRequests,
    batches: stats.prefillSteps,
    decode_steps: stats.decodeSteps,
    rebuilds: stats.rebuilds,
    batch_size_histogram: { prefill: histogram(stats.prefillBatchSizes), decode: histogram(stats.decodeBatchSizes) },
    tokens: { prompt: input.promptTokens, completion: input.completionTokens },
    padding_waste: {
      prefill: waste(stats.prefillPositions, stats.prefillRealTokens),
      decode: decodeWaste(stats),
    },
    stage_ms: {
      load: round(timings.loadMs),
      tokenize: round(timings.tokenizeMs),
      prefill: round(stats.prefillMs),
      decode: round(stats.decodeMs),
      write: round(timings.writeMs),
      total: round(timings.totalMs),
    },
    tokens_per_second: {
      completion: rate(input.completionTokens, stats.prefillMs + stats.decodeMs),
      prefill: rate(stats.prefillRealTokens, stats.prefillMs),
      completion_wall: rate(input.completionTokens, timings.totalMs),
    },
    peak_rss_bytes: input.peakRssBytes ?? peakRssBytes(),
    prefix_cache: {
      hits: stats.prefixHits,
      prompt_tokens_reused: stats.prefixTokensReused,
      prompt_tokens_computed: stats.prefillRealTokens,
      prefixes_computed: stats.prefixComputations,
      evictions: stats.prefixEvictions,
    },
    structured_output: structuredFigures(input.structured ?? emptyStructuredStats(), stats),
  };
}

function structuredFigures(structured: StructuredStats, stats: EngineStats): StructuredOutputFigures {
  const masked = structured.maskedTokens > 0;
  const decodeSteps = stats.decodeSteps;
  const per = (ms: number, count: number) => (count > 0 ? Math.round((ms / count) * 1000) / 1000 : null);
  const maskMs = structured.bitmaskMs + structured.applyMs;
  const waitMs = structured.waitMs;
  return {
    requests: { ...structured.requests },
    grammars_compiled: structured.grammarsCompiled,
    tokenizer_info_ms: round(structured.tokenizerInfoMs),
    compile_ms: round(structured.compileMs),
    masked_tokens: structured.maskedTokens,
    bitmask_ms: round(structured.bitmaskMs),
    apply_ms: round(structured.applyMs),
    wait_ms: round(waitMs),
    mask_ms_per_step: masked ? per(maskMs, decodeSteps) : null,
    mask_ms_per_token: per(maskMs, structured.maskedTokens),
    critical_ms_per_step: masked ? per(waitMs + structured.applyMs, decodeSteps) : null,
  };
}

/** Decode pads are rows that finished but were still computed; the note says why the figure is what it is. */
function decodeWaste(stats: EngineStats): PaddingWaste & { note: string } {
  const figure = waste(stats.decodePositions, stats.decodeRealTokens);
  return { ...figure, note: figure.pad_positions === 0 ? DECODE_WASTE_NOTE : DECODE_WASTE_NOTE_NONZERO };
}

function waste(positions: number, realTokens: number): PaddingWaste {
  const pads = Math.max(0, positions - realTokens);
  return { pad_positions: pads, positions, fraction: positions > 0 ? pads / positions : 0 };
}

function histogram(counts: Record<number, number>): Record<string, number> {
  const sorted = Object.keys(counts).map(Number).sort((a, b) => a - b);
  return Object.fromEntries(sorted.map((size) => [String(size), counts[size]]));
}

function rate(tokens: number, ms: number): number | null {
  return ms > 0 ? Math.round((tokens / (ms / 1000)) * 100) / 100 : null;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
