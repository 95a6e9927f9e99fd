import { writeFileAtomically } from './atomicWrite';
import { classifyOutputLine, OutputLineInfo } from './outputLine';
import { readLines } from './readLines';

/**
 * Rewrites a JSONL output file in input order, atomically (a temporary file renamed over it): `--ordered -o FILE`. Lines
 * were written and synced as requests finished, so a crash before this point loses nothing; after it the file is the
 * same lines sorted by `orderOf` (lines it cannot place keep their relative order, at the end). Lines are read as resume
 * and merge read them (readLines.ts, outputLine.ts).
 */
export async function reorderFile(file: string, orderOf: (line: OutputLineInfo) => number | undefined): Promise<void> {
  const keyed: { line: string; position: number; key: number }[] = [];
  for await (const { bytes } of readLines(file)) {
    if (bytes.length === 0) continue;
    const line = bytes.toString('utf8');
    const classified = classifyOutputLine(line);
    const key = classified.ok ? orderOf(classified.info) : undefined;
    keyed.push({ line, position: keyed.length, key: key ?? Number.POSITIVE_INFINITY });
  }
  const unchanged = keyed.every((k, i) => i === 0 || k.key >= keyed[i - 1].key);
  if (unchanged) return;
  keyed.sort((a, b) => a.key - b.key || a.position - b.position);
  const sorted = keyed.map((k) => `${k.line}\n`).join('');
  await writeFileAtomically(file, async (handle) => {
    await handle.writeFile(sorted, 'utf8');
  });
}
