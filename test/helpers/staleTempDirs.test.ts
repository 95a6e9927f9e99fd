import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeStaleTempDirs, tempDirName, TEMP_DIR_PATTERN } from './staleTempDirs';
import { tempDir } from './testModels';

// A killed test run leaves its temp folders behind; the next run's globalSetup removes those whose process is dead.
let root: string;

beforeAll(() => {
  root = tempDir('stale-dirs'); // stands in for the system temp folder
});

test("tempDir names the folder after this process, as removeStaleTempDirs reads it", () => {
  const dir = tempDir('named');
  expect(path.dirname(dir)).toBe(os.tmpdir());
  expect(TEMP_DIR_PATTERN.exec(path.basename(dir))?.[1]).toBe(String(process.pid));
});

test('the folders of a killed run are removed; those of live processes, other names and files are left (control)', () => {
  // A "test run" that makes its temp folder (with a file in it) and is killed before it can clean up.
  const killed = spawnSync(process.execPath, [
    '-e',
    `const fs = require('node:fs'), path = require('node:path');
     const dir = fs.mkdtempSync(path.join(${JSON.stringify(root)}, \`qwen-gen-test-\${process.pid}-killed-\`));
     fs.writeFileSync(path.join(dir, 'model.onnx'), 'x');
     process.kill(process.pid, 'SIGKILL');`,
  ]);
  expect(killed.signal).toBe('SIGKILL');
  const left = fs.readdirSync(root);
  expect(left).toEqual([expect.stringMatching(new RegExp(`^${tempDirName('killed', killed.pid)}`))]);

  const live = fs.mkdtempSync(path.join(root, tempDirName('live')));
  const other = fs.mkdtempSync(path.join(root, 'qwen-gen-other-'));
  const file = path.join(root, `${tempDirName('file', killed.pid)}x`);
  fs.writeFileSync(file, '');

  expect(removeStaleTempDirs(root)).toEqual(left);
  expect(fs.readdirSync(root).sort()).toEqual([path.basename(live), path.basename(other), path.basename(file)].sort());
});
