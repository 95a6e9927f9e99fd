import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, parse, resolve } from 'node:path';
import { UserError } from '../errors';

export interface ExpandedFile {
  /** The path as the user wrote it, or built from the pattern's prefix. */
  path: string;
  /** True when it came from a `*`/`?` pattern rather than being named literally. */
  fromPattern: boolean;
}

/**
 * Expands `*` and `?` in file arguments (any path segment; `*` stays within one segment, names starting
 * with `.` need a pattern starting with `.`), because Windows shells do not. Matches are sorted
 * naturally (`shard-2` before `shard-10`); a file named twice is kept once. A literal path that does not
 * exist, or a pattern that matches nothing, is a usage error.
 */
export function expandFileArguments(arguments_: string[], cwd: string = process.cwd()): ExpandedFile[] {
  const result: ExpandedFile[] = [];
  const seen = new Set<string>();
  const add = (path: string, fromPattern: boolean): void => {
    const absolute = resolve(cwd, path);
    if (seen.has(absolute)) return;
    seen.add(absolute);
    result.push({ path, fromPattern });
  };
  for (const argument of arguments_) {
    if (!/[*?]/.test(argument)) {
      if (!existsSync(resolve(cwd, argument)) || !statSync(resolve(cwd, argument)).isFile()) {
        throw new UserError(`no such file: ${argument}`);
      }
      add(argument, false);
      continue;
    }
    const matches = expandPattern(argument, cwd);
    if (matches.length === 0) throw new UserError(`no files match ${argument}`);
    for (const match of matches) add(match, true);
  }
  return result;
}

function expandPattern(pattern: string, cwd: string): string[] {
  const root = isAbsolute(pattern) ? parse(pattern).root : '';
  const segments = pattern
    .slice(root.length)
    .split(process.platform === 'win32' ? /[\\/]/ : /\//)
    .filter((segment) => segment !== '' && segment !== '.');
  const matches: string[] = [];
  const walk = (shown: string, depth: number): void => {
    const directory = resolve(cwd, shown === '' ? '.' : shown);
    const segment = segments[depth];
    const last = depth === segments.length - 1;
    const names = /[*?]/.test(segment) ? listMatching(directory, segment) : [segment];
    for (const name of names.sort(naturalCompare)) {
      const next = shown === '' ? name : join(shown, name);
      const kind = kindOf(resolve(cwd, next));
      if (last ? kind === 'file' : kind === 'directory') {
        if (last) matches.push(next);
        else walk(next, depth + 1);
      }
    }
  };
  if (segments.length > 0) walk(root, 0);
  return matches;
}

function listMatching(directory: string, segment: string): string[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return [];
  }
  const body = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const matcher = new RegExp(`^${body}$`, process.platform === 'win32' ? 'i' : '');
  return names.filter((name) => matcher.test(name) && (segment.startsWith('.') || !name.startsWith('.')));
}

function kindOf(path: string): 'file' | 'directory' | 'other' {
  try {
    const stats = statSync(path);
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : 'other';
  } catch {
    return 'other';
  }
}

/** Digit runs compare as numbers, everything else by code units. */
export function naturalCompare(a: string, b: string): number {
  const partsA = a.match(/\d+|\D+/g) ?? [];
  const partsB = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(partsA.length, partsB.length); i += 1) {
    const [x, y] = [partsA[i], partsB[i]];
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const difference = Number(x) - Number(y);
      if (difference !== 0) return difference;
    }
    return x < y ? -1 : 1;
  }
  return partsA.length - partsB.length;
}
