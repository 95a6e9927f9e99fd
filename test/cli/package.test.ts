import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTestModel, tempDir } from '../helpers/testModels';

// The package as users get it: `npm pack`, unpacked into a fresh folder's node_modules, required from there. Its
// dependencies come from this worktree's node_modules through NODE_PATH (offline: nothing is downloaded).
const ROOT = path.resolve(__dirname, '../..');
let work: string;
let files: string[];
let modelDir: string;

beforeAll(async () => {
  modelDir = await buildTestModel('package');
  work = tempDir('package');
  // dist/ is built by `npm test`; --ignore-scripts skips `prepare` (a second build).
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
  const packed = JSON.parse(out)[0] as { filename: string; files: { path: string }[] };
  files = packed.files.map((f) => f.path);
  const installed = path.join(work, 'consumer', 'node_modules', 'qwen-gen');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', path.join(work, packed.filename), '-C', installed, '--strip-components=1']);
  // Type packages as a TypeScript user would have them installed (linked, offline).
  fs.mkdirSync(path.join(work, 'consumer', 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(work, 'consumer', 'node_modules', '@types', 'node'));
}, 180_000);

function runConsumer(file: string, source: string) {
  const consumer = path.join(work, 'consumer');
  fs.writeFileSync(path.join(consumer, file), source);
  return spawnSync(process.execPath, [file], {
    cwd: consumer,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), NO_COLOR: '1' },
  });
}

test('the tarball ships the built code, its type declarations, docs/, LICENSE and README; no source maps, no tests', () => {
  expect(files).toEqual(expect.arrayContaining(['dist/api/index.js', 'dist/api/index.d.ts', 'bin/qwen-gen.js', 'docs/findings.md', 'docs/report-schema.json', 'LICENSE', 'README.md']));
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(files.filter((f) => /^(src|test)\//.test(f))).toEqual([]);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.repository).toBeDefined();
  expect(pkg.license).toBe('MIT');
  for (const target of [pkg.main, pkg.types, pkg.exports['.'].default, pkg.exports['.'].types]) expect(files).toContain(target.replace(/^\.\//, ''));
});

test("require('qwen-gen'): generate() yields records as an async iterable, inspect() returns the model report", () => {
  const result = runConsumer(
    'use.js',
    `
const { generate, inspect, GENERATION_PARAMS } = require('qwen-gen');
(async () => {
  const records = [];
  const requests = [{ id: 'a', prompt: 'Hello' }, { id: 'b', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }, { id: 'c', prompt: 'x', top_p: 7 }];
  let report = null;
  for await (const record of generate(requests, { model: ${JSON.stringify(modelDir)}, greedy: true, defaults: { max_tokens: 3 }, onReport: (r) => (report = r) })) records.push(record);
  const model = await inspect(${JSON.stringify(modelDir)});
  let bad = null;
  try { for await (const _ of generate(requests, { model: 'tiny', defaults: { top_p: 5 } })) {} } catch (e) { bad = e.message; }
  console.log(JSON.stringify({ records, findings: report.findings.map((f) => f.code), attention: model.model.attention, params: GENERATION_PARAMS.length, bad }));
})();
`,
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const out = JSON.parse(result.stdout);
  const byId = new Map(out.records.map((r: { id: string }) => [r.id, r]));
  expect([...byId.keys()].sort()).toEqual(['a', 'b', 'c']);
  expect((byId.get('a') as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(3);
  expect((byId.get('b') as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
  expect((byId.get('c') as { error: { code: string } }).error.code).toBe('invalid_field');
  expect(out.findings).toContain('pad_is_eos');
  expect(out.attention).toBe('plain');
  expect(out.params).toBeGreaterThan(10);
  expect(out.bad).toMatch(/defaults\.top_p must be a number > 0 and ≤ 1, got 5/);
});

test('exports: only the documented entry points; the bin runs from the installed package', () => {
  const deep = runConsumer('deep.js', `try { require('qwen-gen/dist/cli/main.js'); console.log('loaded'); } catch (e) { console.log(e.code); }`);
  expect(deep.stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  expect(runConsumer('pkg.js', `console.log(require('qwen-gen/package.json').version)`).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  const bin = spawnSync(process.execPath, [path.join(work, 'consumer', 'node_modules', 'qwen-gen', 'bin', 'qwen-gen.js'), '--version'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
  });
  expect(bin.status).toBe(0);
});

test('the type declarations resolve through exports for a TypeScript consumer', () => {
  const consumer = path.join(work, 'consumer');
  fs.writeFileSync(
    path.join(consumer, 'typed.ts'),
    `import { generate, inspect, GenerationRecord, Report } from 'qwen-gen';
export async function first(): Promise<GenerationRecord | undefined> {
  for await (const record of generate([{ prompt: 'hi' }], { model: 'tiny', defaults: { max_tokens: 4 } })) return record;
  return undefined;
}
export const report: Promise<Report> = inspect('tiny');
// @ts-expect-error: generate takes an options object
generate([], 'tiny');
`,
  );
  const tsc = spawnSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--skipLibCheck', '--types', 'node', 'typed.ts'],
    { cwd: consumer, encoding: 'utf8' },
  );
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});

test("onnxruntime-node's install-script switch: the README explains it, .ci/run and the example workflows set it", () => {
  // The package's own install script honours it: it returns at once, offline, without touching the network.
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_onnxruntime_node_install: '', HTTPS_PROXY: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9' };
  const install = spawnSync(process.execPath, ['script/install.js'], { cwd: path.join(ROOT, 'node_modules', 'onnxruntime-node'), env, encoding: 'utf8', timeout: 30_000 });
  expect(install.status).toBe(0);
  expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip npm install qwen-gen/);
  expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^export ONNXRUNTIME_NODE_INSTALL=skip$/m);
  expect(fs.readFileSync(path.join(ROOT, 'examples', 'github-actions-matrix.yml'), 'utf8')).toMatch(/^ {2}ONNXRUNTIME_NODE_INSTALL: skip$/m);
  expect(fs.readFileSync(path.join(ROOT, 'examples', 'k8s-indexed-job.yaml'), 'utf8')).toContain('ENV ONNXRUNTIME_NODE_INSTALL=skip');
});
