import { GatherSource, KvCache } from './kvCache';
import { KvShape } from './kvShape';
import { LogitsView } from './logitsView';
import { SessionDescription } from './sessionOptions';
import { StepFeeds } from './stepFeeds';

/** What the runner needs to know about the graph's inputs; read from the session's own metadata. */
export interface RunnerInputs {
  hasAttentionMask: boolean;
  hasPositionIds: boolean;
  hasLogitsToKeep: boolean;
  /** The derived graph's `logits_index` input: logits are computed at one column per row only. */
  hasLogitsIndex: boolean;
}

export interface StepResult {
  /** Valid until the runner's next step. */
  logits: LogitsView;
  present: KvCache;
}

/** Counters a caller (report, tests) can read: they measure work, not time. */
export interface RunnerStats {
  steps: number;
  logitsElements: number;
  peakLogitsElements: number;
  /** KV memory newly allocated (bytes): grows at capacity changes only when the runtime reuses its buffers. */
  kvBytesAllocated: number;
  /** Time inside the runtime's own run call (ms, summed over steps): what is not the model is the rest of a step. */
  runMs: number;
}

/** Which runtime runs the graph, and why when it is not the preferred one. */
export interface RuntimeDescription {
  name: 'direct' | 'onnxruntime-node';
  /** onnxruntime's version. */
  version: string;
  /** How KV memory is handled: what a step copies. */
  kvHandling: string;
  /** Copies of the KV cache alive at once, for the memory budget (kvCopiesOf). */
  kvCopies: number;
  /** Set when the direct runtime was wanted but could not be used. */
  fallbackReason?: string;
  /** The onnxruntime session settings (prepacking, spinning, threads). */
  session?: SessionDescription;
}

/**
 * The model runner: tensors in, logits and the new KV cache out. Knows nothing of requests, padding or sampling.
 * Caches passed in (a step's past, a gather's sources) are consumed: the runner may reuse their memory — except gather
 * sources listed as `retained` (a cached prompt prefix, read by many gathers): those are only read, never pooled, never
 * written, never the in-place target of the gather.
 */
export interface StepRunner {
  readonly kvShape: KvShape;
  readonly inputs: RunnerInputs;
  step(feeds: StepFeeds): Promise<StepResult>;
  /** A cache of `length` slots whose row b is copied from `sources[b]` (row removal, admission, compaction). */
  gather(length: number, sources: GatherSource[], retained?: ReadonlySet<KvCache>): KvCache;
  /**
   * The most rows a batch will hold in this run (the batch cap). A runner that owns its KV memory sizes a batch's memory
   * for that many rows, so rows admitted later are copied into it in place instead of into new memory.
   */
  reserveRows?(rows: number): void;
  /** A cache the caller drops without passing it to `step` or `gather`: a runner that owns its memory may reuse it. */
  recycle?(cache: KvCache): void;
}

/** A runner that owns an onnxruntime session. */
export interface ModelRunner extends StepRunner {
  readonly stats: RunnerStats;
  readonly runtime: RuntimeDescription;
  release(): Promise<void>;
}

export function emptyRunnerStats(): RunnerStats {
  return { steps: 0, logitsElements: 0, peakLogitsElements: 0, kvBytesAllocated: 0, runMs: 0 };
}

export function countLogits(stats: RunnerStats, logits: LogitsView): void {
  stats.steps++;
  stats.logitsElements += logits.elements;
  stats.peakLogitsElements = Math.max(stats.peakLogitsElements, logits.elements);
}
