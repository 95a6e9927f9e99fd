import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

/**
 * Checks that `--report FILE` can be written, before anything runs: a report that fails to write after an hour of
 * generation is an hour lost. The file may exist (it is replaced); it must not be a directory, and its folder must exist
 * and be writable.
 */
export function checkReportPath(file: string): void {
  const problem = (why: string) => new UserError(`--report ${file}: ${why}`);
  const existing = statOrNull(file);
  if (existing?.isDirectory()) throw problem('it is a directory');
  const dir = path.dirname(path.resolve(file));
  const folder = statOrNull(dir);
  if (!folder) throw problem(`directory ${dir} does not exist`);
  if (!folder.isDirectory()) throw problem(`${dir} is not a directory`);
  try {
    fs.accessSync(existing ? file : dir, fs.constants.W_OK);
  } catch {
    throw problem(`permission denied (${existing ? file : dir} is not writable)`);
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}
