import * as path from 'node:path';
import { InputFileError } from './errors';

/**
 * Files that are not JSONL but another common shape get one file-level error with the command that converts them,
 * instead of a "not valid JSON" error record per line (and a partial run of the lines that happen to parse):
 * - a JSON array: the first line starts with `[`, is not JSON on its own, and more lines follow (a pretty-printed
 *   document). A first line that is a whole one-line array stays a per-line error, as any other non-object line;
 * - CSV or TSV: a first line that is not JSON and holds commas or tabs, with a second line holding as many (or a
 *   .csv/.tsv name).
 * `firstLines` are the first (up to two) non-blank lines' texts.
 */
export function checkNotOtherFormat(firstLines: readonly string[], sourceName: string): void {
  const [first, second] = firstLines.map((line) => line.trim());
  if (first === undefined || parses(first)) return;
  const shown = sourceName === '<stdin>' ? 'the input on stdin' : sourceName;
  const file = sourceName === '<stdin>' || sourceName === '<requests>' ? null : sourceName;
  const target = file === null ? 'requests.jsonl' : `${path.join(path.dirname(file), path.parse(file).name)}.jsonl`;
  if (first.startsWith('[') && second !== undefined) {
    const command = file === null ? `jq -c '.[]' FILE.json > ${target}` : `jq -c '.[]' ${file} > ${target}`;
    throw new InputFileError(
      `${shown} is a JSON array (it starts with "[" and spans several lines), not JSONL (one JSON object per line); ` +
        `convert it with: ${command}`,
    );
  }
  if (first.startsWith('{') || first.startsWith('[')) return;
  const delimiter = delimiterOf(first, second, file);
  if (delimiter === null) return;
  const name = delimiter === '\t' ? 'TSV' : 'CSV';
  const reader = delimiter === '\t' ? 'csv.DictReader(sys.stdin, delimiter="\\t")' : 'csv.DictReader(sys.stdin)';
  const command = `python3 -c 'import csv, json, sys; [print(json.dumps(row)) for row in ${reader}]' < ${file ?? `FILE.${name.toLowerCase()}`} > ${target}`;
  throw new InputFileError(
    `${shown} looks like ${name} (a header line "${first.length > 60 ? `${first.slice(0, 60)}…` : first}"), not JSONL ` +
      `(one JSON object per line); convert it, with a "prompt" (or "messages") column, e.g.: ${command}`,
  );
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function delimiterOf(first: string, second: string | undefined, file: string | null): ',' | '\t' | null {
  const extension = file === null ? '' : path.extname(file).toLowerCase();
  for (const delimiter of ['\t', ','] as const) {
    const fields = first.split(delimiter).length;
    if (fields < 2) continue;
    const named = extension === (delimiter === '\t' ? '.tsv' : '.csv');
    if (named || (second !== undefined && second.split(delimiter).length === fields)) return delimiter;
  }
  return null;
}
