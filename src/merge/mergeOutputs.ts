import { closeSync, openSync, readSync } from 'node:fs';
import { RequestId } from '../shard/requestId';
import { ExpectedIds, readExpectedIds } from './inputIds';
import { MergeResult, MergedLineRef, RequestRef, SettingsGroup } from './mergeResult';
import { ClassifiedLine, classifyOutputLine, idProblem, OutputLineInfo } from '../output/outputLine';
import { lineText, readLines } from '../output/readLines';
import { recordKey } from './recordKey';

export interface MergeOptions {
  /** The input JSONL the shards were run on: enables the missing / not-in-input checks and orders OpenAI lines. */
  inputFile?: string;
}

interface IndexedLine extends MergedLineRef {
  /** Position in reading order (files in argument order, lines in file order). */
  ordinal: number;
  line: number;
  key: string;
  info: OutputLineInfo;
  settingsGroup: number;
}

/**
 * Reads shard output files, drops duplicate ids and broken lines, orders the rest by input index and
 * checks them against the input. Only line locations and ids are kept in memory, not the line text, so a
 * million-line merge stays small; the bytes are copied later by `writeMergedOutput`.
 */
export async function mergeShardOutputs(files: string[], options: MergeOptions = {}): Promise<MergeResult> {
  const expected = options.inputFile === undefined ? null : await readExpectedIds(options.inputFile);
  const result: MergeResult = {
    files,
    shards: [],
    orderedLines: [],
    expectedCount: expected ? sumCounts(expected) : null,
    missing: [],
    notInInput: [],
    duplicates: [],
    errorRecords: [],
    settings: [],
    mismatchedSettingsLines: 0,
    tornLines: [],
    invalidLines: [],
    inputRepeatedIds: expected?.repeatedIds ?? [],
    identicalRepeats: 0,
    complete: false,
  };

  const lines: IndexedLine[] = [];
  const settingsGroups = new Map<string, { group: number; lines: number; files: Set<string> }>();
  for (const [fileIndex, file] of files.entries()) {
    let count = 0;
    for await (const line of readLines(file)) {
      const text = lineText(line.bytes);
      if (text.trim() === '') continue;
      const classified = identified(classifyOutputLine(text));
      if (!classified.ok) {
        if (line.terminated) result.invalidLines.push({ file, line: line.lineNumber, reason: classified.reason });
        else result.tornLines.push({ file, line: line.lineNumber, bytes: line.bytes.length });
        continue;
      }
      const { info } = classified;
      let settingsGroup = -1;
      if (info.settings !== undefined) {
        let group = settingsGroups.get(info.settings);
        if (!group) settingsGroups.set(info.settings, (group = { group: settingsGroups.size, lines: 0, files: new Set() }));
        group.lines += 1;
        group.files.add(file);
        settingsGroup = group.group;
        delete info.settings; // the group number is enough; a million fingerprint strings are not
      }
      count += 1;
      lines.push({
        fileIndex,
        offset: line.offset,
        length: line.bytes.length,
        ordinal: lines.length,
        line: line.lineNumber,
        key: recordKey(info.id, info.index) as string,
        info,
        settingsGroup,
      });
    }
    result.shards.push({ file, lines: count });
  }

  const kept = keepAllowedOccurrences(lines, expected, files, result);
  kept.sort((a, b) => compareForOutput(a, b, expected));
  result.orderedLines = kept.map(({ fileIndex, offset, length }) => ({ fileIndex, offset, length }));

  for (const line of kept) {
    if (line.info.error) {
      result.errorRecords.push({ ...requestRef(line), file: files[line.fileIndex], line: line.line, ...line.info.error });
    }
  }
  if (expected) {
    const present = new Set(kept.map((line) => line.key));
    for (const [key, request] of expected.byKey) {
      if (!present.has(key)) result.missing.push({ id: request.id, index: request.index, inputLine: request.line });
    }
    for (const line of kept) {
      if (!expected.byKey.has(line.key)) result.notInInput.push({ ...requestRef(line), file: files[line.fileIndex], line: line.line });
    }
  }
  result.settings = [...settingsGroups.entries()]
    .map(([fingerprint, group]): SettingsGroup & { order: number } => ({
      fingerprint,
      lines: group.lines,
      files: [...group.files],
      order: group.group,
    }))
    .sort((a, b) => b.lines - a.lines || a.order - b.order)
    .map(({ fingerprint, lines: count, files: groupFiles }) => ({ fingerprint, lines: count, files: groupFiles }));
  result.mismatchedSettingsLines = result.settings.slice(1).reduce((sum, group) => sum + group.lines, 0);

  result.complete =
    result.missing.length === 0 &&
    result.notInInput.length === 0 &&
    result.duplicates.length === 0 &&
    result.errorRecords.length === 0 &&
    result.mismatchedSettingsLines === 0 &&
    result.tornLines.length === 0 &&
    result.invalidLines.length === 0;
  return result;
}

/** Merge needs every line identified: an error record without an id is identified by its input index. */
function identified(classified: ClassifiedLine): ClassifiedLine {
  if (!classified.ok || classified.info.id !== null || classified.info.index !== undefined) return classified;
  return { ok: false, reason: idProblem(classified.info.format) };
}

function requestRef(line: IndexedLine): RequestRef {
  return line.info.index === undefined ? { id: line.info.id } : { id: line.info.id, index: line.info.index };
}

function sumCounts(expected: ExpectedIds): number {
  let total = 0;
  for (const request of expected.byKey.values()) total += request.count;
  return total;
}

/**
 * Each id is kept as often as the input lists it (once without an input). Among extra copies, a
 * result beats an error record (a re-run shard that succeeded), then the earlier file wins.
 */
function keepAllowedOccurrences(
  lines: IndexedLine[],
  expected: ExpectedIds | null,
  files: string[],
  result: MergeResult,
): IndexedLine[] {
  const byKey = new Map<string, IndexedLine | IndexedLine[]>();
  for (const line of lines) {
    const seen = byKey.get(line.key);
    if (seen === undefined) byKey.set(line.key, line);
    else if (Array.isArray(seen)) seen.push(line);
    else byKey.set(line.key, [seen, line]);
  }
  const kept: IndexedLine[] = [];
  for (const [key, entry] of byKey) {
    if (!Array.isArray(entry)) {
      kept.push(entry);
      continue;
    }
    const allowed = expected?.byKey.get(key)?.count ?? 1;
    const distinct = withoutIdenticalRepeats(entry, files);
    result.identicalRepeats += entry.length - distinct.length;
    if (distinct.length <= allowed || entry.length <= allowed) {
      kept.push(...(entry.length <= allowed ? entry : distinct));
      continue;
    }
    const preferred = [...entry].sort((a, b) => Number(!!a.info.error) - Number(!!b.info.error) || a.ordinal - b.ordinal);
    const keptHere = new Set(preferred.slice(0, allowed));
    kept.push(...keptHere);
    result.duplicates.push({
      ...requestRef(entry[0]),
      occurrences: entry.map((line) => ({
        file: files[line.fileIndex],
        line: line.line,
        kept: keptHere.has(line),
        error: line.info.error !== undefined,
      })),
    });
  }
  return kept;
}

/**
 * The same record written twice, byte for byte (a shard file given twice under two names, a shard run twice with the
 * same settings), is one result, not a conflict: only the first copy is kept. Copies are compared by their bytes, read
 * back from the files (only for repeated ids, so a large merge keeps no text in memory).
 */
function withoutIdenticalRepeats(lines: IndexedLine[], files: string[]): IndexedLine[] {
  const seen = new Set<string>();
  return lines.filter((line) => {
    const bytes = readLineBytes(files[line.fileIndex], line.offset, line.length).toString('base64');
    if (seen.has(bytes)) return false;
    seen.add(bytes);
    return true;
  });
}

function readLineBytes(file: string, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const descriptor = openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const read = readSync(descriptor, buffer, done, length - done, offset + done);
      if (read === 0) break;
      done += read;
    }
  } finally {
    closeSync(descriptor);
  }
  return buffer;
}

/** By input index (the line's own, else the input position of its id), then by id, then reading order. */
function compareForOutput(a: IndexedLine, b: IndexedLine, expected: ExpectedIds | null): number {
  const positionA = a.info.index ?? expected?.byKey.get(a.key)?.index ?? Infinity;
  const positionB = b.info.index ?? expected?.byKey.get(b.key)?.index ?? Infinity;
  if (positionA !== positionB) return positionA < positionB ? -1 : 1;
  return compareIds(a.info.id, b.info.id) || a.ordinal - b.ordinal;
}

/** Numbers before strings; numbers numerically, strings by UTF-16 code units (locale-independent). */
function compareIds(a: RequestId | null, b: RequestId | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
