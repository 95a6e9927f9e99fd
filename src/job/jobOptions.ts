import { Finding } from '../diagnostics/finding';
import { FailOn, Report } from '../diagnostics';
import { EngineStats } from '../engine/engineStats';
import { LoadModelOptions } from '../engine/loadModel';
import { ShardSpec } from '../shard/shardSpec';
import { GenerationFlags } from './generationDefaults';
import { ReportFormat } from './runDiagnostics';
import { StepActivity } from './stepActivity';

/**
 * `--batch-size` when not given, chosen by the batch-size sweep (README, Performance → Batch size; `node bench/run.js
 * batch-sweep`): 16 finished the W64 workload sooner than 8 on fp32, q8 and q4, and 32 was no faster than 16. The
 * memory budget (`--max-memory`) still limits the rows actually decoded together.
 */
export const DEFAULT_BATCH_SIZE = 16;

export type OutputFormat = 'auto' | 'qwen-gen' | 'openai';

export interface GenerateJobOptions {
  /** Input JSONL path; '-' or undefined reads stdin; bytes are JSONL content (the programmatic API). */
  input?: string | Uint8Array;
  model: string;
  output?: string;
  overwrite: boolean;
  /** Continue an existing `output` file: keep its complete lines, generate only the ids not done yet. */
  resume?: boolean;
  /** With `resume`: accept existing lines made with other generation settings. */
  force?: boolean;
  /**
   * Aborting it stops admitting work; complete lines are already written (SIGINT/SIGTERM). Aborted while the input is
   * still being read, the run ends at once with an InputInterrupted error: nothing was generated.
   */
  signal?: AbortSignal;
  /** Counts the model steps in flight (a second Ctrl-C waits for the one running). */
  steps?: StepActivity;
  /** Rows decoded together at most (`--batch-size`; DEFAULT_BATCH_SIZE when not given). */
  batchSize: number;
  maxBatchTokens?: number;
  /** Bytes for KV cache, logits and activations (default: half of the free memory). */
  maxMemory?: number;
  /** Automatic prefix caching (default on): prompt prefixes shared by several requests are computed once. */
  prefixCache?: boolean;
  tokenIds: boolean;
  echoParams: boolean;
  format: OutputFormat;
  strict: boolean;
  shard?: ShardSpec;
  reportFile?: string;
  reportFormat: ReportFormat;
  failOn: FailOn;
  /** --keep-fields: unknown top-level input fields are copied to the output record instead of refused. */
  keepFields?: boolean;
  /** Output in input order (held back on stdout; a file is rewritten in order at the end). */
  ordered?: boolean;
  /** --ignore-finding codes. */
  ignoreFindings?: string[];
  flags: GenerationFlags;
  load: LoadModelOptions;
  /** Receives every output record instead of the output sink (the programmatic API). */
  onRecord?: (record: object) => void;
  /** Called after every finished request (progress bars). */
  onProgress?: (done: number, total: number, generatedTokens: number) => void;
  /** Generation starts (requests tokenized, prefill next): the progress bar appears. */
  onStart?: (total: number) => void;
  /** One token generated. */
  onToken?: () => void;
  /** Before a line is written to stdout (a progress bar on the same terminal clears its line). */
  beforeStdoutWrite?: () => void;
  log: (message: string) => void;
}

export interface GenerateJobResult {
  exitCode: number;
  findings: Finding[];
  report: Report | null;
  stats: EngineStats | null;
  stages: Record<string, number>;
  written: number;
  failed: number;
  /** The run was aborted (`signal`) before every request was done. */
  interrupted: boolean;
  /** Requests neither written nor failed because of the interruption. */
  unfinished: number;
}
