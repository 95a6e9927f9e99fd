import { BatchRows } from '../padding/batchRows';
import { BatchRunner } from '../padding/batchRunner';
import { SequenceSpec, TokenChoice } from './sequence';
import { Started } from './startRows';

/** One live row: its sequence and what it generated so far. */
export interface RunningRow<R> {
  spec: SequenceSpec<R>;
  tokenIds: number[];
  choices: TokenChoice[];
}

/** Decides whether a row is finished after its latest token (and hands it out when it is). */
export type FinishCheck<R> = (row: RunningRow<R>) => Promise<boolean>;

/**
 * The running batch: its rows as the batch runner laid them out, and the sequence of each. Rows that finish leave the
 * live set at once; their cache rows are dropped at the next rebuild, together with any admission, so a step copies the
 * cache at most once.
 */
export class RunningBatch<R> {
  private rows: BatchRows | null = null;
  private running: RunningRow<R>[] = [];
  /** Rows of `rows` still alive after the last step, when some finished. */
  private survivors: number[] | null = null;

  constructor(private readonly batch: BatchRunner) {}

  /** The live rows, in batch order once compacted. */
  get live(): RunningRow<R>[] {
    return this.survivors ? this.survivors.map((b) => this.running[b]) : this.running;
  }

  get specs(): SequenceSpec<R>[] {
    return this.live.map((row) => row.spec);
  }

  get size(): number {
    return this.survivors ? this.survivors.length : this.running.length;
  }

  /**
   * Adds newly started rows: each sequence's first token is checked (a row may finish at once), and one rebuild drops the
   * finished rows and merges the new ones.
   */
  async merge(started: readonly Started<R>[], finished: FinishCheck<R>): Promise<void> {
    const next = [...this.live];
    const parts: { rows: BatchRows; keep: number[] }[] = [];
    if (this.rows) parts.push({ rows: this.rows, keep: this.survivors ?? this.running.map((_, b) => b) });
    for (const unit of started) {
      const keep: number[] = [];
      for (let i = 0; i < unit.specs.length; i++) {
        const row: RunningRow<R> = { spec: unit.specs[i], tokenIds: [unit.firstChoices[i].tokenId], choices: [unit.firstChoices[i]] };
        if (await finished(row)) continue;
        keep.push(unit.rowOf[i]);
        next.push(row);
      }
      parts.push({ rows: unit.rows, keep });
    }
    this.rebuild(parts, next);
  }

  /** Drops finished rows from the cache; false when there were none. */
  compact(): boolean {
    if (!this.survivors || !this.rows) return false;
    this.rebuild([{ rows: this.rows, keep: this.survivors }], this.live);
    return true;
  }

  /** One decode step: every live row's latest token appended; returns the logits of each row's next token. */
  async decode(): Promise<(row: number) => Float32Array> {
    const tokens = this.running.map((row) => row.tokenIds[row.tokenIds.length - 1]);
    const stepped = await this.batch.decode(this.rows!, tokens);
    this.rows = stepped.rows;
    return stepped.logits;
  }

  /** Appends each live row's chosen token; rows that finish leave the live set. */
  async advance(choices: readonly TokenChoice[], finished: FinishCheck<R>): Promise<void> {
    const keep: number[] = [];
    for (let b = 0; b < this.running.length; b++) {
      const row = this.running[b];
      row.tokenIds.push(choices[b].tokenId);
      row.choices.push(choices[b]);
      if (!(await finished(row))) keep.push(b);
    }
    if (keep.length < this.running.length) this.survivors = keep;
  }

  /** End of the run: the batch's memory (its rows finished or are abandoned) serves the runner's next run. */
  close(): void {
    this.batch.recycle(this.rows);
    this.rows = null;
  }

  private rebuild(parts: { rows: BatchRows; keep: number[] }[], rows: RunningRow<R>[]): void {
    this.rows = this.batch.rebuild(parts);
    this.running = rows;
    this.survivors = null;
  }
}
