import { MergeResult, RequestRef } from './mergeResult';

const LISTED = 10;

/** The short stderr summary of a merge: counts, then the first few ids of each problem. */
export function formatMergeSummary(result: MergeResult, output: string, allowIncomplete: boolean): string {
  const lines = [
    `merged ${result.orderedLines.length} lines from ${result.shards.length} shard file(s) into ${output}`,
    `  missing ${countOrUnchecked(result.missing.length, result.expectedCount)}, duplicates ${result.duplicates.length}, ` +
      `errors ${result.errorRecords.length}, mismatched settings ${result.mismatchedSettingsLines}` +
      (result.expectedCount === null ? '' : `, not in input ${result.notInInput.length}`) +
      (result.tornLines.length > 0 ? `, torn lines ${result.tornLines.length}` : '') +
      (result.invalidLines.length > 0 ? `, invalid lines ${result.invalidLines.length}` : ''),
  ];
  if (result.expectedCount !== null) lines.push(`  input expects ${result.expectedCount} requests`);
  if (result.missing.length > 0) {
    const shown = result.missing.slice(0, LISTED).map((request) => `${describe(request)} (input line ${request.inputLine})`);
    lines.push(`  missing: ${shown.join(', ')}${result.missing.length > LISTED ? `, … (${result.missing.length} in all)` : ''}`);
  }
  if (result.duplicates.length > 0) {
    const shown = result.duplicates.slice(0, LISTED).map((duplicate) => {
      const places = duplicate.occurrences.map((place) => `${place.file}:${place.line}${place.kept ? ' (kept)' : ''}`);
      return `    ${describe(duplicate)} in ${places.join(', ')}`;
    });
    lines.push(`  duplicate ids:`, ...shown, ...more(result.duplicates.length));
  }
  if (result.errorRecords.length > 0) {
    const shown = result.errorRecords
      .slice(0, LISTED)
      .map((record) => `    ${describe(record)}: ${record.code}: ${record.message}`);
    lines.push(`  error records:`, ...shown, ...more(result.errorRecords.length));
  }
  if (result.settings.length > 1) {
    lines.push(`  mismatched settings (shards were run with different models or defaults):`);
    for (const group of result.settings) {
      lines.push(`    ${group.fingerprint}: ${group.lines} line(s) in ${group.files.join(', ')}`);
    }
  }
  if (result.notInInput.length > 0) lines.push(`  not in the input: ${listRequests(result.notInInput)}`);
  for (const torn of result.tornLines) {
    lines.push(`  torn last line dropped: ${torn.file}:${torn.line} (${torn.bytes} bytes; the shard was interrupted)`);
  }
  for (const invalid of result.invalidLines.slice(0, LISTED)) {
    lines.push(`  invalid line dropped: ${invalid.file}:${invalid.line}: ${invalid.reason}`);
  }
  if (result.identicalRepeats > 0) {
    lines.push(`  note: ${result.identicalRepeats} repeated line(s) identical to a kept one, byte for byte, were dropped (the same result twice)`);
  }
  if (result.inputRepeatedIds.length > 0) {
    lines.push(`  note: the input repeats ids ${listRequests(result.inputRepeatedIds.map((id) => ({ id })))}`);
  }
  if (result.complete) {
    lines.push(result.expectedCount === null ? '  no problems found (completeness not checked: pass --input)' : '  complete');
  } else {
    lines.push(allowIncomplete ? '  INCOMPLETE (allowed by --allow-incomplete)' : '  INCOMPLETE');
  }
  return `${lines.join('\n')}\n`;
}

function countOrUnchecked(count: number, expected: number | null): string {
  return expected === null ? 'unchecked' : String(count);
}

function listRequests(requests: RequestRef[]): string {
  const shown = requests.slice(0, LISTED).map(describe).join(', ');
  return requests.length > LISTED ? `${shown}, … (${requests.length} in all)` : shown;
}

/** `"a"`, `7`, or `index 3` for a record without a readable id. */
function describe(request: RequestRef): string {
  return request.id === null ? `index ${request.index ?? '?'}` : JSON.stringify(request.id);
}

function more(total: number): string[] {
  return total > LISTED ? [`    … (${total} in all)`] : [];
}
