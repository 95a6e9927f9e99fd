import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTinyModel, TinyModelOptions } from '../../src/tinymodel';
import { tempDirName } from './staleTempDirs';

/**
 * A fresh temp folder named after this process, removed when the test file is done (by the jest environment) or else
 * when the process exits — or, if the process is killed, by the next run's globalSetup (staleTempDirs.ts).
 */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), tempDirName(prefix)));
  const registry = (globalThis as { __qwenGenTempDirs?: string[] }).__qwenGenTempDirs;
  if (registry) registry.push(dir);
  else process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Builds a tiny model with the project's own builder into a temp folder (seeded: same options ⇒ same model). */
export async function buildTestModel(name: string, options: Partial<TinyModelOptions> = {}): Promise<string> {
  const dir = path.join(tempDir(name), 'model');
  await buildTinyModel(dir, options);
  return dir;
}
