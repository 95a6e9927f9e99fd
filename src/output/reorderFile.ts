import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from './atomicWrite';

/**
 * Rewrites a JSONL output file in input order, atomically (a temporary file renamed over it): `--ordered -o FILE`. Lines
 * were written and synced as requests finished, so a crash before this point loses nothing; after it the file is the
 * same lines sorted by `orderOf` (lines it cannot place keep their relative order, at the end).
 */
export async function reorderFile(file: string, orderOf: (record: Record<string, unknown>) => number | undefined): Promise<void> {
  const text = await readFile(file, 'utf8');
  const lines = text.split('\n').filter((line) => line.length > 0);
  const keyed = lines.map((line, position) => {
    let key: number | undefined;
    try {
      key = orderOf(JSON.parse(line) as Record<string, unknown>);
    } catch {
      key = undefined;
    }
    return { line, position, key: key ?? Number.POSITIVE_INFINITY };
  });
  keyed.sort((a, b) => a.key - b.key || a.position - b.position);
  const sorted = keyed.map((k) => `${k.line}\n`).join('');
  if (sorted === lines.map((line) => `${line}\n`).join('')) return;
  await writeFileAtomically(file, async (handle) => {
    await handle.writeFile(sorted, 'utf8');
  });
}
