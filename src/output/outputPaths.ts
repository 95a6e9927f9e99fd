import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

/** A file or folder a command will write, as the user named it. */
export interface WrittenPath {
  path: string;
  /** How the user gave it, for messages: `-o out.jsonl`, `--report r.md`, `merge's output`, … */
  label: string;
  kind: 'file' | 'folder';
  /** An existing one may be replaced (`--overwrite`; `--resume` continues `-o` and rewrites `--report`). */
  mayReplace: boolean;
  /** What to tell a user whose file exists, after "already exists". */
  existsHint?: string;
}

/** A file a command reads: an output must never be one of them, whatever the flags. */
export interface ReadPath {
  /** A path, or an open file descriptor (stdin redirected from a file: `< prompts.jsonl`). */
  path: string | number;
  /** What it is, for messages: `the input file`, `a shard being merged`, `the --input file`. */
  role: string;
}

/**
 * The one rule for every file qwen-gen writes, checked before any work: an existing file or folder is refused unless it
 * may be replaced, and an output is refused — even with `--overwrite` — when it is a file the same command reads or
 * another output of the same run. Files are compared by identity (device and inode: a hard link, a symlink or another
 * spelling of the same path is the same file), a path that does not exist yet by its resolved location. Throws a
 * UserError naming the file and why. A device or a pipe (`/dev/null`) is not a file to protect and is written as it is.
 */
export function checkWrittenPaths(outputs: readonly WrittenPath[], reads: readonly ReadPath[] = []): void {
  const readIdentities = reads.map((read) => ({ read, identity: identityOf(read.path) }));
  const seen: { output: WrittenPath; identity: string }[] = [];
  for (const output of outputs) {
    // A device or a pipe (`--report /dev/null`, `-o /dev/stdout`) holds no file to lose: written as it is.
    if (isSpecialFile(output.path)) continue;
    const identity = identityOf(output.path);
    for (const { read, identity: readIdentity } of readIdentities) {
      if (readIdentity !== null && readIdentity === identity) {
        throw new UserError(`${output.label}: ${describeRead(output.path, read)}; writing it would destroy what this command reads (refused even with --overwrite)`);
      }
    }
    const twin = seen.find((other) => other.identity === identity);
    if (twin) {
      throw new UserError(`${output.label}: it is the same file as ${twin.output.label}; one run cannot write both there (refused even with --overwrite)`);
    }
    seen.push({ output, identity: identity ?? '' });
    checkExisting(output);
  }
}

/** An existing path that is neither a regular file nor a folder: a device, a pipe, a socket. */
export function isSpecialFile(file: string): boolean {
  const stats = statOrNull(file);
  return stats !== null && !stats.isFile() && !stats.isDirectory();
}

function describeRead(outputPath: string, read: ReadPath): string {
  const named = typeof read.path === 'string' && read.path !== outputPath ? ` (${read.path})` : '';
  return `${outputPath} is ${read.role}${named}`;
}

function checkExisting(output: WrittenPath): void {
  const stats = statOrNull(output.path);
  if (stats === null) return checkParent(output);
  if (output.kind === 'file' && stats.isDirectory()) throw new UserError(`${output.label}: ${output.path} is a directory, not a file`);
  if (output.kind === 'folder' && !stats.isDirectory()) throw new UserError(`${output.label}: ${output.path} is a file, not a folder`);
  if (output.kind === 'folder' && fs.readdirSync(output.path).length === 0) return;
  if (!output.mayReplace) {
    const what = output.kind === 'folder' ? 'folder' : 'file';
    throw new UserError(`${output.label}: ${what} ${output.path} already exists; ${output.existsHint ?? 'add --overwrite to replace it'}`);
  }
  try {
    fs.accessSync(output.path, fs.constants.W_OK);
  } catch {
    throw new UserError(`${output.label}: permission denied (${output.path} is not writable)`);
  }
}

function checkParent(output: WrittenPath): void {
  const dir = path.dirname(path.resolve(output.path));
  const folder = statOrNull(dir);
  // A folder output is created with its parents (mkdir -p); a file needs its folder.
  if (output.kind === 'folder' && folder === null) return;
  if (folder === null) throw new UserError(`${output.label}: directory ${dir} does not exist`);
  if (!folder.isDirectory()) throw new UserError(`${output.label}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UserError(`${output.label}: permission denied (${dir} is not writable)`);
  }
}

/**
 * What makes two names the same file: device and inode when it exists (through symlinks), else the resolved path with
 * its folder's real path (a new file in a symlinked folder is the same as its other spelling). Null for a descriptor
 * that is not a regular file (a pipe or a terminal cannot be an output).
 */
export function identityOf(file: string | number): string | null {
  try {
    const stats = typeof file === 'number' ? fs.fstatSync(file) : fs.statSync(file);
    if (typeof file === 'number' && !stats.isFile()) return null;
    return `inode ${stats.dev}:${stats.ino}`;
  } catch {
    if (typeof file === 'number') return null;
  }
  const resolved = path.resolve(file);
  let dir = path.dirname(resolved);
  try {
    dir = fs.realpathSync(dir);
  } catch {
    // a folder that does not exist yet: its spelling is all there is
  }
  return `path ${path.join(dir, path.basename(resolved))}`;
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}
