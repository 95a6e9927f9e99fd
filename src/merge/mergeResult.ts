import { RequestId } from '../shard/requestId';

/** A place in a shard file. `line` is 1-based. */
export interface LineLocation {
  file: string;
  line: number;
}

/** Where the bytes of one merged line are, to copy them unchanged. */
export interface MergedLineRef {
  fileIndex: number;
  offset: number;
  length: number;
}

export interface ShardFileSummary {
  file: string;
  /** Lines read as records (blank lines not counted). */
  lines: number;
}

/** A request as merge names it: its id, or null for an error record of an input line without a readable id. */
export interface RequestRef {
  id: RequestId | null;
  /** The input index, when known. */
  index?: number;
}

export interface MissingRequest extends RequestRef {
  index: number;
  /** 1-based line of the input file. */
  inputLine: number;
}

export interface DuplicateRecord extends RequestRef {
  /** Every line that carries the request, in reading order; `kept` marks the copy written to the output. */
  occurrences: Array<LineLocation & { kept: boolean; error: boolean }>;
}

export interface ErrorRecordRef extends RequestRef, LineLocation {
  code: string;
  message: string;
}

export interface SettingsGroup {
  fingerprint: string;
  lines: number;
  files: string[];
}

export interface MergeResult {
  files: string[];
  shards: ShardFileSummary[];
  /** Lines in the merged output, ordered by input index. */
  orderedLines: MergedLineRef[];
  /** Requests in the input; null without `--input` (completeness could not be checked). */
  expectedCount: number | null;
  /** Input requests with no output line, in input order. Empty without `--input`. */
  missing: MissingRequest[];
  /** Output records whose request the input does not contain (kept in the output). Empty without `--input`. */
  notInInput: Array<RequestRef & LineLocation>;
  /** Requests written more often than the input asks (once, unless the input itself repeats the id). */
  duplicates: DuplicateRecord[];
  /** Error records among the merged lines. */
  errorRecords: ErrorRecordRef[];
  /** Distinct settings fingerprints, most common first; more than one means mismatched settings. */
  settings: SettingsGroup[];
  /** Lines whose fingerprint differs from the most common one. */
  mismatchedSettingsLines: number;
  /** Last lines without a newline that are not a whole JSON object (a shard interrupted mid-write); dropped. */
  tornLines: Array<LineLocation & { bytes: number }>;
  /** Newline-terminated lines that are not output records; dropped. */
  invalidLines: Array<LineLocation & { reason: string }>;
  /** Ids the input file itself repeats (a note, not a merge failure: the engine answers repeats with error records). */
  inputRepeatedIds: RequestId[];
  /** Extra copies of a record, byte for byte the same as one kept (the same result twice, not a conflict): dropped. */
  identicalRepeats: number;
  /** True when nothing above is wrong. Without `--input`, missing requests cannot be detected. */
  complete: boolean;
}
