import * as fs from 'node:fs';
import { UserError } from '../errors';
import { InputFormat } from '../input/request';
import { lineText, readLines } from './readLines';
import { canonicalRequestId, RequestId } from '../shard/requestId';
import { classifyOutputLine } from './outputLine';

/** A run of consecutive kept bytes of the existing output file (whole lines with their `\n`). */
export interface ByteRange {
  offset: number;
  length: number;
}

/**
 * What an existing output file holds, as `--resume` sees it:
 * - a completion line is kept, and its id is done;
 * - an error record (input error or runtime failure) is dropped: its request is evaluated again, so a runtime failure is
 *   retried and an input error is reported again from the current input (identically when the input did not change; a
 *   line fixed since then is generated). Either way the final file has each error once and reflects this run;
 * - a repeated completion of an id already kept is dropped (never written by qwen-gen, but the final file has each id once);
 * - the last line, when it has no final newline or is not valid JSON, is a torn write and is dropped;
 * - any other unreadable line is refused: resume cannot tell what it holds.
 */
export interface ResumeState {
  file: string;
  fileSize: number;
  kept: ByteRange[];
  keptLines: number;
  doneIds: Set<string>;
  /** Settings fingerprint → number of kept lines carrying it ('' for lines without one). */
  settings: Map<string, number>;
  /** Output format of the kept lines (null when none were kept). */
  format: InputFormat | null;
  droppedErrorRecords: number;
  droppedDuplicates: number;
  /** Bytes of the torn last line (0 when the file ends with a complete line). */
  tornTailBytes: number;
}

type ResumeLine =
  | { kind: 'completion'; id: RequestId; settings: string; format: InputFormat }
  | { kind: 'error-record' }
  | { kind: 'unreadable'; reason: string };

export async function readResumeState(file: string): Promise<ResumeState> {
  const state: ResumeState = {
    file, fileSize: 0, kept: [], keptLines: 0, doneIds: new Set(), settings: new Map(), format: null,
    droppedErrorRecords: 0, droppedDuplicates: 0, tornTailBytes: 0,
  };
  // An unreadable line is only known to be the torn tail once nothing follows it.
  let unreadable: { lineNumber: number; reason: string; bytes: number; terminated: boolean } | null = null;
  for await (const line of readLines(file)) {
    const text = lineText(line.bytes);
    if (text.trim() === '') {
      if (!line.terminated) state.tornTailBytes = line.bytes.length;
      continue;
    }
    if (unreadable) throw unreadableLine(file, unreadable.lineNumber, unreadable.reason);
    const classified = resumeLine(text);
    if (classified.kind === 'unreadable' || !line.terminated) {
      const reason = classified.kind === 'unreadable' ? classified.reason : 'no final newline';
      unreadable = { lineNumber: line.lineNumber, reason, bytes: line.bytes.length, terminated: line.terminated };
      continue;
    }
    if (classified.kind === 'error-record') {
      state.droppedErrorRecords++;
      continue;
    }
    if (state.format !== null && state.format !== classified.format) {
      throw new UserError(`cannot resume ${file}: it mixes qwen-gen and OpenAI batch lines (line ${line.lineNumber})`);
    }
    state.format = classified.format;
    const key = canonicalRequestId(classified.id);
    if (state.doneIds.has(key)) {
      state.droppedDuplicates++;
      continue;
    }
    state.doneIds.add(key);
    state.settings.set(classified.settings, (state.settings.get(classified.settings) ?? 0) + 1);
    keep(state.kept, line.offset, line.bytes.length + 1);
    state.keptLines++;
  }
  if (unreadable) state.tornTailBytes = unreadable.bytes + (unreadable.terminated ? 1 : 0);
  state.fileSize = fs.statSync(file).size;
  return state;
}

/** Kept lines form one prefix of the file: cutting the file at its end is enough (no rewrite). */
export function keptPrefixEnd(state: ResumeState): number | null {
  if (state.kept.length === 0) return 0;
  if (state.kept.length === 1 && state.kept[0].offset === 0) return state.kept[0].length;
  return null;
}

function keep(ranges: ByteRange[], offset: number, length: number): void {
  const last = ranges[ranges.length - 1];
  if (last && last.offset + last.length === offset) last.length += length;
  else ranges.push({ offset, length });
}

function unreadableLine(file: string, lineNumber: number, reason: string): UserError {
  return new UserError(
    `cannot resume ${file}: line ${lineNumber} is not a qwen-gen output line (${reason}) and is not the last line, ` +
      'so it is not a torn write; remove or fix that line, or start over with --overwrite',
  );
}

/** Resume keeps completions (by id), drops error records and cannot tell what anything else holds. */
function resumeLine(text: string): ResumeLine {
  const classified = classifyOutputLine(text);
  if (!classified.ok) return { kind: 'unreadable', reason: classified.reason };
  const { info } = classified;
  if (info.error) return { kind: 'error-record' };
  // A completion always has an id: only error records may lack one.
  return { kind: 'completion', id: info.id as RequestId, settings: info.settings ?? '', format: info.format };
}
