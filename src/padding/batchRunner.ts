import { KvCache } from '../runtime/kvCache';
import { StepResult, StepRunner } from '../runtime/stepRunner';
import { BatchRows } from './batchRows';
import { PaddingProtocol } from './paddingProtocol';

/** The work of one model step, for the engine's counters. */
export interface StepWork {
  rows: number;
  /** Token positions computed (pads included). */
  positions: number;
  /** Real tokens among them. */
  realTokens: number;
}

/** A batch after one or more steps: its rows and each row's next-token logits. */
export interface Stepped {
  rows: BatchRows;
  /** Row b's next-token logits, as float32: valid until the runner's next step. */
  logits(row: number): Float32Array;
  /** The model steps it took (a long prompt is prefilled in chunks). */
  work: StepWork[];
}

/** A cached prefix to start a row from: the first `length` tokens of the one-row `cache`. */
export interface PrefixCopy {
  cache: KvCache;
  length: number;
}

/**
 * The batch runner: the padding protocol and a runtime behind one interface. The engine asks for prefills, extends, decode
 * steps, rebuilds and starts from cached prefixes, and gets rows and their logits back; it never lays out a step or
 * calls the runtime itself. Every step goes `protocol.X → runner.step → protocol.afterX` here, in one place.
 */
export class BatchRunner {
  constructor(
    readonly runner: StepRunner,
    readonly protocol: PaddingProtocol,
  ) {}

  /** The same protocol over another runner (a runner wrapped to count or watch its steps). */
  withRunner(runner: StepRunner): BatchRunner {
    return new BatchRunner(runner, this.protocol);
  }

  /**
   * Whether one step may add several tokens to several rows that already have a past. onnxruntime's GroupQueryAttention
   * refuses it ("batch_size must be 1 when sequence_length > 1 and past context is given").
   */
  get multiRowExtend(): boolean {
    return this.protocol.layout.multiRowExtend;
  }

  /**
   * Prompts prefilled together, padded, in one step. One prompt longer than `maxBatchTokens` is prefilled alone, in chunks
   * of at most that many tokens, so a step's logits and activations stay bounded whatever its length.
   */
  async prefill(prompts: readonly (readonly number[])[], maxBatchTokens = Infinity): Promise<Stepped> {
    if (prompts.length === 1 && prompts[0].length > maxBatchTokens) {
      const [prompt] = prompts;
      const first = await this.prefill([prompt.slice(0, maxBatchTokens)]);
      const rest = await this.extend(first.rows, [prompt.slice(maxBatchTokens)], maxBatchTokens);
      return { ...rest, work: [...first.work, ...rest.work] };
    }
    const feeds = this.protocol.prefill(prompts);
    const result = await this.runner.step(feeds);
    const realTokens = prompts.reduce((sum, p) => sum + p.length, 0);
    const positions = prompts.length === 1 ? realTokens : feeds.batch * feeds.seqLen;
    return {
      rows: this.protocol.afterPrefill(feeds, result.present, prompts),
      logits: logitsAt(result, feeds.logitColumns),
      work: [{ rows: prompts.length, positions, realTokens }],
    };
  }

  /**
   * Appends `tokens[b]` to row b. Several rows go in one step (shorter rests padded at their end with pads the step
   * computes and then drops: see the protocol's `extend`), which the graph must allow (`multiRowExtend`) unless each adds
   * one token. One row adds its tokens in chunks of at most `maxBatchTokens`: correct on every graph kind, since
   * GroupQueryAttention derives a row's past length as seqlens_k + 1 − S, which holds when all rows add the same number
   * of real tokens — one row always does. The rows are consumed.
   */
  async extend(rows: BatchRows, tokens: readonly (readonly number[])[], maxBatchTokens = Infinity): Promise<Stepped> {
    if (tokens.length > 1 || tokens[0].length <= maxBatchTokens) return this.step(rows, tokens);
    const work: StepWork[] = [];
    let stepped: Stepped | null = null;
    for (let start = 0; start < tokens[0].length; start += maxBatchTokens) {
      stepped = await this.step(stepped?.rows ?? rows, [tokens[0].slice(start, start + maxBatchTokens)]);
      work.push(...stepped.work);
    }
    return { ...stepped!, work };
  }

  /** One decode step: `tokens[b]` appended to row b. The rows are consumed (their mask grows in place). */
  decode(rows: BatchRows, tokens: readonly number[]): Promise<Stepped> {
    return this.step(rows, tokens.map((token) => [token]));
  }

  /**
   * A batch whose row b holds a copy of the first `length` tokens of prefix b, compacted like any rebuild. The prefixes'
   * caches are read as `retained` (with every cache in `retained`): they stay intact for later requests.
   */
  copyPrefixes(prefixes: readonly PrefixCopy[], retained: ReadonlySet<KvCache>): BatchRows {
    const counts = prefixes.map((p) => p.length);
    const width = Math.max(...counts);
    const sources = prefixes.map(({ cache, length }) => ({
      cache, row: 0, slots: Array.from({ length: width }, (_, j) => (j < length ? j : -1)),
    }));
    return this.protocol.rowsOf(this.runner.gather(width, sources, retained), counts, width);
  }

  /** The listed rows of one or more batches as one compacted batch (null when no row is kept); see the protocol's `rebuild`. */
  rebuild(parts: { rows: BatchRows; keep: number[] }[]): BatchRows | null {
    return this.protocol.rebuild(parts, this.runner);
  }

  /** Rows dropped without another step or rebuild: a runtime that owns its memory may reuse theirs. */
  recycle(rows: BatchRows | null): void {
    if (rows) this.runner.recycle?.(rows.cache);
  }

  /** The most rows a batch will hold in this run (the runner sizes batch memory for them). */
  reserveRows(rows: number): void {
    this.runner.reserveRows?.(rows);
  }

  private async step(rows: BatchRows, tokens: readonly (readonly number[])[]): Promise<Stepped> {
    const feeds = this.protocol.extend(rows, tokens);
    const result = await this.runner.step(feeds);
    let realTokens = 0;
    for (const t of tokens) realTokens += t.length;
    return {
      rows: this.protocol.afterExtend(rows, feeds, result.present),
      logits: logitsAt(result, feeds.logitColumns),
      work: [{ rows: feeds.batch, positions: feeds.batch * feeds.seqLen, realTokens }],
    };
  }
}

function logitsAt(result: StepResult, columns: readonly number[]): (row: number) => Float32Array {
  return (row) => result.logits.row(row, columns[row]);
}
