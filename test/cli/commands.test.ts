import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Commands and their messages: a mistyped command gets "did you mean", `help` on an unknown command says so, every
// message names what the user typed and starts with `qwen-gen:`.
let modelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-commands');
  work = tempDir('cli-commands');
});

function usageError(args: string[], options: { cwd?: string } = {}): string {
  const result = runCli(args, options);
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).not.toMatch(/\n\s+at |unexpected error/);
  for (const line of result.stderr.trim().split('\n')) expect(line).toMatch(/^qwen-gen: /);
  return result.stderr;
}

test('a mistyped command: "did you mean", not "too many arguments for generate" or "input file … does not exist"', () => {
  expect(usageError(['inpsect', 'tiny'], { cwd: work })).toBe("qwen-gen: unknown command 'inpsect'; did you mean 'inspect'? (there is no input file inpsect either)\n");
  expect(usageError(['merg', 'out.jsonl', 'shard-0.jsonl'], { cwd: work })).toMatch(/unknown command 'merg'; did you mean 'merge'\?/);
  expect(usageError(['tiny-modl', 'dir'], { cwd: work })).toMatch(/did you mean 'tiny-model'\?/);
  // Negative control: a file of that name is an input file, not a typo.
  fs.writeFileSync(path.join(work, 'inpsect'), '{"prompt":"Hello"}\n');
  const asFile = runCli(['inpsect', '-m', modelDir, '--greedy', '--max-tokens', '1', '-q'], { cwd: work });
  expect(asFile.status).toBe(0);
  // Two words that are no command: generate's usage, naming both.
  expect(usageError(['a.jsonl', 'b.jsonl'], { cwd: work })).toMatch(/too many arguments: generate takes one input file, got 'a\.jsonl', 'b\.jsonl'/);
});

test('help on an unknown command says it is unknown (with the closest one), not the whole help', () => {
  expect(usageError(['help', 'nosuch'])).toBe("qwen-gen: help: unknown command 'nosuch' (commands: generate, inspect, merge, tiny-model, help)\n");
  expect(usageError(['help', 'insepct'])).toBe("qwen-gen: help: unknown command 'insepct'; did you mean 'inspect'? (commands: generate, inspect, merge, tiny-model, help)\n");
  const known = runCli(['help', 'inspect']);
  expect(known.status).toBe(0);
  expect(known.stdout).toContain('Usage: qwen-gen inspect');
});

test("messages name the argument the user typed: `inspect ./nope` says nothing of -m; generate's -m does", () => {
  const inspect = usageError(['inspect', './nope'], { cwd: work });
  expect(inspect).toBe(
    'qwen-gen: ./nope: no such folder, and not a hub model id (expected org/name, e.g. onnx-community/Qwen3-0.6B-ONNX); use "tiny" for the built-in offline model\n',
  );
  expect(usageError(['-', '-m', './nope'], { cwd: work })).toContain('qwen-gen: -m ./nope: no such folder');
});

test("commander's own errors carry the qwen-gen: prefix; --ignore-finding names the closest code", () => {
  expect(usageError(['--bogus'])).toMatch(/^qwen-gen: unknown option '--bogus'\n/);
  expect(usageError(['-', '-m', modelDir, '--top-p', '5'])).toMatch(/^qwen-gen: option '--top-p <p>' argument '5' is invalid/);
  expect(usageError(['-', '-m', modelDir, '--ignore-finding', 'pad_is_eoss'])).toContain(
    'qwen-gen: option \'--ignore-finding <code>\' argument \'pad_is_eoss\' is invalid. --ignore-finding: unknown finding code "pad_is_eoss"; did you mean "pad_is_eos"?',
  );
});

test('a model folder in the optimum layout (model.onnx at its top) is named with what was found there and how to fix it', () => {
  const folder = path.join(work, 'optimum');
  fs.mkdirSync(folder);
  for (const file of fs.readdirSync(modelDir)) {
    if (file !== 'onnx') fs.copyFileSync(path.join(modelDir, file), path.join(folder, file));
  }
  fs.copyFileSync(path.join(modelDir, 'onnx', 'model.onnx'), path.join(folder, 'model.onnx'));
  const message = usageError(['inspect', folder]);
  expect(message).toContain("found model.onnx at the folder's top level (the layout of optimum and onnxruntime-genai exports)");
  expect(message).toContain('mkdir onnx && mv model.onnx* onnx/');
  // The fix it names works.
  fs.mkdirSync(path.join(folder, 'onnx'));
  fs.renameSync(path.join(folder, 'model.onnx'), path.join(folder, 'onnx', 'model.onnx'));
  expect(runCli(['inspect', folder]).status).toBe(0);
});
