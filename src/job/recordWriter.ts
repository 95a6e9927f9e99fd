import { InputFormat } from '../input/request';
import { CompletedRequest, completionRecord, errorRecord, FailedRequest } from '../output/completionRecord';
import { JsonlSink } from '../output/jsonlSink';
import { openaiBatchErrorRecord, openaiBatchRecord } from '../output/openaiBatchRecord';
import { OrderedRelease } from '../output/orderedRelease';
import { StageTimer } from './stageTimer';

export interface RecordWriterOptions {
  /** The settings fingerprint every record carries. */
  settings: string;
  format: InputFormat;
  /** The model spec OpenAI-format records name. */
  model: string;
  includeTokenIds: boolean;
  timer: StageTimer;
  /** Receives every record instead of the sink (the programmatic API). */
  onRecord?: (record: object) => void;
  /** Before a line goes to a terminal stdout (the progress bar clears its line). */
  beforeStdoutWrite?: () => void;
  /** --ordered on stdout (or to onRecord): the input indexes this run writes; records are held until their turn. */
  ordered?: readonly number[];
}

/** Writes the run's records in its output format, and counts them. */
export class RecordWriter {
  private writtenCount = 0;
  private failedCount = 0;

  private readonly release: OrderedRelease<object> | null;

  constructor(private readonly sink: JsonlSink, private readonly options: RecordWriterOptions) {
    // A file is written as requests finish (each line synced) and reordered at the end; a stream can only be held back.
    const streamed = options.onRecord !== undefined || sink.target === '<stdout>';
    this.release = options.ordered && streamed ? new OrderedRelease(options.ordered, (record) => this.write(record)) : null;
  }

  get written(): number {
    return this.writtenCount;
  }

  get failed(): number {
    return this.failedCount;
  }

  completed(done: CompletedRequest): void {
    const { format, model, includeTokenIds } = this.options;
    this.emit(done.index, format === 'openai' ? openaiBatchRecord(done, model) : completionRecord(done, { includeTokenIds }));
    this.writtenCount++;
  }

  failure(failed: FailedRequest): void {
    const record = { ...failed, settings: this.options.settings };
    this.emit(failed.index, this.options.format === 'openai' ? openaiBatchErrorRecord(record) : errorRecord(record));
    this.failedCount++;
  }

  close(): void {
    this.release?.flush();
    this.sink.close();
  }

  private emit(index: number | undefined, record: object): void {
    if (this.release && index !== undefined) this.release.add(index, record);
    else this.write(record);
  }

  private write(record: object): void {
    if (this.options.onRecord) return this.options.onRecord(record);
    if (this.sink.target === '<stdout>') this.options.beforeStdoutWrite?.();
    this.options.timer.timeSync('write', () => this.sink.write(record));
  }
}
