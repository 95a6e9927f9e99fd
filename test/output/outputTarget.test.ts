import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputTarget } from '../../src/output/outputTarget';
import { tempDir } from '../helpers/testModels';

// An output that is a device or a FIFO (`-o /dev/null`, `-o >(…)`) takes no lock: qwen-gen must not create FILE.lock
// beside it (in /dev a user cannot, and the run would fail). A regular file is locked (the control).
const options = (file: string) => ({ file, overwrite: true, resume: false, force: false, log: () => undefined });

test('a FIFO output takes no lock; a regular file output does', async () => {
  const dir = tempDir('output-target');
  const fifo = path.join(dir, 'out.fifo');
  expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
  const special = await OutputTarget.prepare(options(fifo), 'qwen-gen');
  expect(fs.existsSync(`${fifo}.lock`)).toBe(false);
  special.release();

  const regular = path.join(dir, 'out.jsonl');
  const target = await OutputTarget.prepare(options(regular), 'qwen-gen');
  expect(fs.existsSync(`${regular}.lock`)).toBe(true);
  target.release();
  expect(fs.existsSync(`${regular}.lock`)).toBe(false);
});
