import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// One rule for every file qwen-gen writes (-o, --report, merge's output, tiny-model's folder): an existing one only with
// --overwrite; never, even with --overwrite, a file the command reads or another output of the same run (by identity:
// a hard link is the same file); refused with exit 2 before any work, naming the file and why.
let modelDir: string;
let work: string;
let prompts: string;
const PROMPTS = ['{"id":"a","prompt":"Hello"}', '{"id":"b","prompt":"Bonjour"}'].join('\n') + '\n';

beforeAll(async () => {
  modelDir = await buildTestModel('cli-output-paths');
  work = tempDir('cli-output-paths');
  prompts = path.join(work, 'prompts.jsonl');
  fs.writeFileSync(prompts, PROMPTS);
});

const missingModel = () => path.join(work, 'no-such-model');

/** Refused with exit 2, nothing on stdout, the message naming what was expected, and the input untouched. */
function refused(args: string[], message: RegExp, options: { input?: string } = {}): string {
  const result = runCli(args, options);
  expect(result.stderr).toMatch(message);
  expect(result.status).toBe(2);
  expect(result.stdout).toBe('');
  expect(fs.readFileSync(prompts, 'utf8')).toBe(PROMPTS);
  return result.stderr;
}

test('-o, --report and --resume never replace the input file, even with --overwrite or --force; a hard link is the same file', () => {
  // A model that does not exist: each refusal comes before the model loads (else the model error would be reported).
  refused([prompts, '-m', missingModel(), '-o', prompts, '--overwrite'], /-o .*prompts\.jsonl: .*prompts\.jsonl is the input file; .*refused even with --overwrite/);
  refused([prompts, '-m', missingModel(), '--report', prompts], /--report .*prompts\.jsonl: .*is the input file/);
  refused([prompts, '-m', missingModel(), '-o', prompts, '--resume', '--force'], /-o .*prompts\.jsonl: .*is the input file/);
  const alias = path.join(work, 'alias.jsonl');
  fs.linkSync(prompts, alias);
  refused([prompts, '-m', missingModel(), '-o', alias, '--overwrite'], /-o .*alias\.jsonl: .*alias\.jsonl is the input file \(.*prompts\.jsonl\)/);
  // Another spelling of the same path.
  refused([prompts, '-m', missingModel(), '-o', path.join(work, '.', 'sub', '..', 'prompts.jsonl'), '--overwrite'], /is the input file/);
});

test('stdin redirected from the output file (qwen-gen -o p.jsonl < p.jsonl) is refused too', () => {
  const descriptor = fs.openSync(prompts, 'r');
  try {
    const result = spawnSync(process.execPath, [BIN, '-m', missingModel(), '-o', prompts, '--overwrite'], {
      stdio: [descriptor, 'pipe', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(result.stderr).toMatch(/-o .*prompts\.jsonl: .*is the file stdin is redirected from/);
    expect(result.status).toBe(2);
  } finally {
    fs.closeSync(descriptor);
  }
  expect(fs.readFileSync(prompts, 'utf8')).toBe(PROMPTS);
});

test('-o and --report cannot be one file; an existing --report needs --overwrite (or --resume); the negative controls run', () => {
  const out = path.join(work, 'x.jsonl');
  refused([prompts, '-m', missingModel(), '-o', out, '--report', out], /--report .*x\.jsonl: it is the same file as -o .*x\.jsonl/);
  expect(fs.existsSync(out)).toBe(false);

  const report = path.join(work, 'report.json');
  fs.writeFileSync(report, 'an earlier report\n');
  refused([prompts, '-m', missingModel(), '--report', report], /--report .*report\.json: file .*report\.json already exists; add --overwrite to replace it/);
  expect(fs.readFileSync(report, 'utf8')).toBe('an earlier report\n');

  // Negative controls: the same runs with files that are not the input (and --overwrite for the existing report) work.
  const ok = runCli([prompts, '-m', modelDir, '--greedy', '--max-tokens', '2', '-o', out, '--report', report, '--overwrite']);
  expect(ok.status).toBe(0);
  expect(parseJsonl(fs.readFileSync(out, 'utf8')).map((r) => r.id).sort()).toEqual(['a', 'b']);
  expect(JSON.parse(fs.readFileSync(report, 'utf8')).version).toBe(1);
  // --resume continues -o and rewrites the report of the run it continues.
  const resumed = runCli([prompts, '-m', modelDir, '--greedy', '--max-tokens', '2', '-o', out, '--report', report, '--resume']);
  expect(resumed.status).toBe(0);
});

test('tiny-model DIR: a new or empty folder is written; an existing model folder only with --overwrite (old files gone); a file or a folder of other things never', () => {
  const run = (...args: string[]) => runCli(['tiny-model', ...args, '--layers', '1']);
  const dir = path.join(work, 'tiny');
  expect(run(dir, '--variants', 'fp32,q8').status).toBe(0);
  expect(fs.readdirSync(path.join(dir, 'onnx')).sort()).toEqual(['model.onnx', 'model_quantized.onnx']);

  const again = run(dir);
  expect(again.status).toBe(2);
  expect(again.stderr).toMatch(/tiny-model .*tiny: folder .*tiny already exists; add --overwrite to replace the model in it/);
  expect(fs.readdirSync(path.join(dir, 'onnx')).sort()).toEqual(['model.onnx', 'model_quantized.onnx']);

  const replaced = run(dir, '--overwrite');
  expect(replaced.status).toBe(0);
  // The q8 graph of the earlier build is gone: a leftover variant would mislead `--dtype auto` and inspect.
  expect(fs.readdirSync(path.join(dir, 'onnx'))).toEqual(['model.onnx']);

  const file = path.join(work, 'a-file');
  fs.writeFileSync(file, 'not a folder\n');
  const onFile = run(file, '--overwrite');
  expect(onFile.status).toBe(2);
  expect(onFile.stderr).toMatch(/tiny-model .*a-file: .*a-file is a file, not a folder/);
  expect(onFile.stderr).not.toMatch(/unexpected error|ENOTDIR/);
  expect(fs.readFileSync(file, 'utf8')).toBe('not a folder\n');

  const notModel = path.join(work, 'documents');
  fs.mkdirSync(notModel);
  fs.writeFileSync(path.join(notModel, 'thesis.txt'), 'keep me\n');
  const onOther = run(notModel, '--overwrite');
  expect(onOther.status).toBe(2);
  expect(onOther.stderr).toMatch(/the folder holds other files and no model/);
  expect(fs.readFileSync(path.join(notModel, 'thesis.txt'), 'utf8')).toBe('keep me\n');

  const empty = path.join(work, 'empty');
  fs.mkdirSync(empty);
  expect(run(empty).status).toBe(0);
});

test('merge shard-*.jsonl --input prompts.jsonl (the shell expands the pattern): shard-0 is kept, with or without --overwrite', () => {
  const dir = path.join(work, 'shards');
  fs.mkdirSync(dir);
  fs.copyFileSync(prompts, path.join(dir, 'prompts.jsonl'));
  for (const k of [0, 1]) {
    const shard = runCli(['prompts.jsonl', '-m', modelDir, '--greedy', '--max-tokens', '2', '--shard', `${k}/2`, '-o', `shard-${k}.jsonl`, '-q'], { cwd: dir });
    expect(shard.status).toBe(0);
  }
  const before = fs.readFileSync(path.join(dir, 'shard-0.jsonl'), 'utf8');
  expect(before.length).toBeGreaterThan(0);
  const merge = (extra: string) =>
    spawnSync('bash', ['-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} merge shard-*.jsonl --input prompts.jsonl ${extra}`], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
  for (const extra of ['', '--overwrite']) {
    const result = merge(extra);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("name the merged file first and quote the pattern, e.g. qwen-gen merge merged.jsonl 'shard-*.jsonl'");
    expect(fs.readFileSync(path.join(dir, 'shard-0.jsonl'), 'utf8')).toBe(before);
  }
  // `qwen-gen merge prompts.jsonl shard-0.jsonl` does not replace the input.
  const onInput = runCli(['merge', 'prompts.jsonl', 'shard-0.jsonl'], { cwd: dir });
  expect(onInput.status).toBe(2);
  expect(onInput.stderr).toContain('qwen-gen: merge output prompts.jsonl: file prompts.jsonl already exists');
  expect(fs.readFileSync(path.join(dir, 'prompts.jsonl'), 'utf8')).toBe(PROMPTS);
  // Negative control: as the README writes it, the merge is complete.
  const quoted = runCli(['merge', 'merged.jsonl', 'shard-*.jsonl', '--input', 'prompts.jsonl'], { cwd: dir });
  expect(quoted.status).toBe(0);
  expect(quoted.stderr).toContain('complete');
});
