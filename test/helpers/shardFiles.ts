import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes shard output files into `dir`, `shards[name]` being the file's JSONL lines (a `\n` ends each); returns the paths. */
export function writeShards(dir: string, shards: Record<string, readonly string[]>): string[] {
  return Object.entries(shards).map(([name, lines]) => {
    const path = join(dir, name);
    writeFileSync(path, lines.map((line) => (line.endsWith('\n') ? line : `${line}\n`)).join(''));
    return path;
  });
}
