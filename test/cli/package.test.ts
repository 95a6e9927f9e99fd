import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// The package as users get it: `npm pack`, installed into a fresh folder as npm installs a tarball (unpacked into
// node_modules/qwen-gen, its bin linked into node_modules/.bin) — offline: its dependencies are linked from this worktree's
// node_modules, nothing is downloaded — and run from there end to end.
const ROOT = path.resolve(__dirname, '../..');
let work: string;
let tarball: string;
let files: string[];
let modelDir: string;

/** Installs the packed tarball into `consumer` (a fresh folder): the package, links to its dependencies, its bin. */
function install(consumer: string): void {
  const modules = path.join(consumer, 'node_modules');
  const installed = path.join(modules, 'qwen-gen');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
  const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(pkg.dependencies)) {
    fs.mkdirSync(path.dirname(path.join(modules, dependency)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', dependency), path.join(modules, dependency));
  }
  fs.mkdirSync(path.join(modules, '.bin'));
  for (const [name, target] of Object.entries(pkg.bin as Record<string, string>)) fs.symlinkSync(path.join('..', 'qwen-gen', target), path.join(modules, '.bin', name));
}

beforeAll(async () => {
  modelDir = await buildTestModel('package');
  work = tempDir('package');
  // dist/ is built by `npm test`; --ignore-scripts skips `prepare` (a second build).
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
  const packed = JSON.parse(out)[0] as { filename: string; files: { path: string }[] };
  files = packed.files.map((f) => f.path);
  tarball = path.join(work, packed.filename);
  install(path.join(work, 'consumer'));
  // Type packages as a TypeScript user would have them installed (linked, offline).
  fs.mkdirSync(path.join(work, 'consumer', 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(work, 'consumer', 'node_modules', '@types', 'node'));
}, 180_000);

function runConsumer(file: string, source: string, consumer = path.join(work, 'consumer')) {
  fs.writeFileSync(path.join(consumer, file), source);
  return spawnSync(process.execPath, [file], { cwd: consumer, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

const REQUESTS = [
  { id: 'a', prompt: 'Hello' }, { id: 'b', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }, { id: 'c', prompt: 'x', top_p: 7 },
  // Structured outputs from the installed package: xgrammar's bundle is loaded from its own dependency.
  { id: 'd', prompt: 'x', guided_choice: ['yes', 'no'] },
];

test('the tarball ships the built code, its type declarations, docs/, LICENSE and README; no source maps, no tests', () => {
  expect(files).toEqual(expect.arrayContaining(['dist/api/index.js', 'dist/api/index.d.ts', 'bin/qwen-gen.js', 'docs/findings.md', 'docs/report-schema.json', 'LICENSE', 'README.md']));
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(files.filter((f) => /^(src|test)\//.test(f))).toEqual([]);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  // The project has no public repository yet: no repository field rather than a made-up URL.
  expect(pkg.repository).toBeUndefined();
  expect(pkg.license).toBe('MIT');
  for (const target of [pkg.main, pkg.types, pkg.exports['.'].default, pkg.exports['.'].types]) expect(files).toContain(target.replace(/^\.\//, ''));
});

/** A script that runs the installed package's generate() on REQUESTS and prints what it got. */
const GENERATE_SCRIPT = `
const { generate, inspect, GENERATION_PARAMS } = require('qwen-gen');
(async () => {
  const records = [];
  let report = null;
  for await (const record of generate(${JSON.stringify(REQUESTS)}, { model: MODEL, greedy: true, defaults: { max_tokens: 3 }, onReport: (r) => (report = r) })) records.push(record);
  const model = await inspect(MODEL);
  let bad = null;
  try { for await (const _ of generate([], { model: 'tiny', defaults: { top_p: 5 } })) {} } catch (e) { bad = e.message; }
  console.log(JSON.stringify({ records, findings: report.findings.map((f) => f.code), attention: model.model.attention, params: GENERATION_PARAMS.length, bad, loadedFrom: require.resolve('qwen-gen') }));
})();
`;

test("require('qwen-gen'): generate() runs end to end — records with text, equal to this worktree's CLI; inspect() returns the model report", () => {
  const result = runConsumer('use.js', `const MODEL = ${JSON.stringify(modelDir)};\n${GENERATE_SCRIPT}`);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const out = JSON.parse(result.stdout);
  // The installed copy ran, not this worktree's dist/.
  expect(out.loadedFrom).toBe(path.join(work, 'consumer', 'node_modules', 'qwen-gen', 'dist', 'api', 'index.js'));
  const byId = new Map<string, Record<string, unknown>>(out.records.map((r: { id: string }) => [r.id, r]));
  expect([...byId.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
  expect(['yes', 'no']).toContain(byId.get('d')!.text);
  expect(byId.get('a')).toMatchObject({ usage: { completion_tokens: 3 }, text: expect.stringMatching(/\S/) });
  expect(byId.get('b')).toMatchObject({ usage: { completion_tokens: 2 }, text: expect.any(String) });
  expect(byId.get('c')).toMatchObject({ error: { code: 'invalid_field' } });
  // The same requests through this worktree's CLI give the same texts (an independent run of the same model).
  const cli = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '3'], { input: REQUESTS.map((r) => JSON.stringify(r)).join('\n') + '\n' });
  const cliTexts = Object.fromEntries(parseJsonl(cli.stdout).filter((r) => typeof r.text === 'string').map((r) => [r.id, r.text]));
  expect(cliTexts).toEqual({ a: byId.get('a')!.text, b: byId.get('b')!.text, d: byId.get('d')!.text });
  expect(out.findings).toContain('pad_is_eos');
  expect(out.attention).toBe('plain');
  expect(out.params).toBeGreaterThan(10);
  expect(out.bad).toMatch(/defaults\.top_p must be a number > 0 and ≤ 1, got 5/);
});

test('negative control: an installed copy missing one of its built files fails (the run above depends on what was packed)', () => {
  const broken = path.join(work, 'broken');
  install(broken);
  fs.rmSync(path.join(broken, 'node_modules', 'qwen-gen', 'dist', 'job', 'runEngine.js'));
  const result = runConsumer('use.js', `const MODEL = ${JSON.stringify(modelDir)};\n${GENERATE_SCRIPT}`, broken);
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(/Cannot find module '\.\/runEngine'/);
});

test('exports: only the documented entry points; the installed bin generates (a real run, records with text)', () => {
  const deep = runConsumer('deep.js', `try { require('qwen-gen/dist/cli/main.js'); console.log('loaded'); } catch (e) { console.log(e.code); }`);
  expect(deep.stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  expect(runConsumer('pkg.js', `console.log(require('qwen-gen/package.json').version)`).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  // node_modules/.bin/qwen-gen, as npm links it (run as a program: its shebang line finds node).
  const bin = spawnSync(path.join(work, 'consumer', 'node_modules', '.bin', 'qwen-gen'), ['-', '-m', modelDir, '--greedy', '--max-tokens', '3'], {
    cwd: path.join(work, 'consumer'),
    input: '{"id":"p","prompt":"Hello"}\n{"id":"q","prompt":"Good morning"}\n',
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` },
  });
  expect(bin.status).toBe(0);
  const records = parseJsonl(bin.stdout);
  expect(records.map((r) => r.id).sort()).toEqual(['p', 'q']);
  for (const record of records) expect(record).toMatchObject({ text: expect.stringMatching(/\S/), usage: { completion_tokens: 3 } });
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

test('the sources and the tests type-check (ts-jest only transpiles them: isolatedModules), as `npm run typecheck` does', () => {
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json'), '--noEmit'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
});

test('npm run build starts from an empty dist/ (no stale file from a removed module is left to be packed); prepare and test build', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.scripts.build).toMatch(/^npm run clean && tsc -p tsconfig\.build\.json$/);
  expect(pkg.scripts.prepare).toBe('npm run build');
  expect(pkg.scripts.test).toMatch(/^npm run build && jest/);
  // The clean script, run where this worktree's dist/ is not (a folder with the same package.json and a stale dist/).
  const folder = path.join(work, 'clean');
  fs.mkdirSync(path.join(folder, 'dist', 'removed'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify(pkg));
  fs.writeFileSync(path.join(folder, 'dist', 'removed', 'module.js'), 'stale');
  fs.writeFileSync(path.join(folder, 'kept.txt'), 'not dist');
  execFileSync('npm', ['run', 'clean', '--silent'], { cwd: folder, encoding: 'utf8' });
  expect(fs.readdirSync(folder).sort()).toEqual(['kept.txt', 'package.json']);
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
