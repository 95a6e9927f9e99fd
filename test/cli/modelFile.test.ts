import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// A model folder whose graph file is not an ONNX model is named for what it is, before any session is created.
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-model-file');
  work = tempDir('cli-model-file');
});

/** A copy of the model folder whose onnx/model.onnx is replaced by `write`. */
function brokenModel(name: string, write: (file: string, original: Buffer) => void): string {
  const dir = path.join(work, name);
  fs.cpSync(modelDir, dir, { recursive: true });
  for (const file of fs.readdirSync(path.join(dir, 'onnx'))) if (file !== 'model.onnx') fs.rmSync(path.join(dir, 'onnx', file));
  const onnx = path.join(dir, 'onnx', 'model.onnx');
  write(onnx, fs.readFileSync(onnx));
  return dir;
}

const LFS = 'version https://git-lfs.github.com/spec/v1\noid sha256:' + 'ab'.repeat(32) + '\nsize 19568156\n';

test.each([
  ['a Git LFS pointer', (f: string) => fs.writeFileSync(f, LFS), /model file onnx\/model\.onnx cannot be read: it is a Git LFS pointer file \(\d+ bytes standing for 19568156 bytes\).*run `git lfs pull`/],
  ['a truncated file', (f: string, original: Buffer) => fs.writeFileSync(f, original.subarray(0, Math.floor(original.length / 3))), /model file onnx\/model\.onnx is truncated \(\d+ bytes;.*Fetch the file again/],
  ['an empty file', (f: string) => fs.writeFileSync(f, ''), /it is empty \(0 bytes\)/],
  ['an HTML page', (f: string) => fs.writeFileSync(f, '<!DOCTYPE html><html><body>Not Found</body></html>'), /it is an HTML\/XML page, not an ONNX model/],
  ['a text file', (f: string) => fs.writeFileSync(f, 'hello world, this is a readme\n'), /model file onnx\/model\.onnx is not an ONNX model/],
])('%s is named clearly (generate and inspect, exit 2, no stack trace)', (name, write, message) => {
  const dir = brokenModel(name.replace(/\W+/g, '-'), write);
  for (const args of [['-', '-m', dir], ['inspect', dir]]) {
    const result = runCli(args, { input: '{"prompt":"hi"}\n' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/unexpected error|wire type 6|\n\s+at /);
  }
});
