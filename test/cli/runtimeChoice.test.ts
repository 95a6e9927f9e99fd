import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { ortLibraryPath } from '../../src/runtime/direct/ortLibrary';
import { parseJsonl, runCli } from '../helpers/cli';
import { buildTestModel, tempDir } from '../helpers/testModels';

// The runtime is chosen once at load and named in the report and in `inspect`; both runtimes give the same output.
const FIXTURE = path.resolve(__dirname, '../../fixtures/prompts.jsonl');
const work = tempDir('runtime-choice');
const NOT_A_LIBRARY = path.join(work, 'libonnxruntime.so.1');
fs.writeFileSync(NOT_A_LIBRARY, 'not a shared library');

function generate(name: string, extra: string[], env: NodeJS.ProcessEnv = {}) {
  const report = path.join(work, `${name}.report.json`);
  const result = runCli([FIXTURE, '-m', 'tiny', '--greedy', '--max-tokens', '12', '--report', report, ...extra], { env });
  expect(result.stderr).not.toMatch(/unexpected error/);
  expect(result.status).toBe(0);
  const lines = parseJsonl(result.stdout).map((line) => ({ id: line.id, text: line.text })).sort((a, b) => String(a.id).localeCompare(String(b.id)));
  return { lines, runtime: JSON.parse(fs.readFileSync(report, 'utf8')).model.runtime };
}

test('the direct runtime is the default; onnxruntime-node on request; the same lines either way', () => {
  const direct = generate('direct', []);
  expect(direct.runtime).toMatchObject({ name: 'direct', onnxruntime_version: '1.30.0', fallback_reason: null });
  expect(direct.lines.length).toBe(13);
  expect(direct.lines.filter((line) => typeof line.text === 'string' && line.text.length > 0).length).toBeGreaterThan(10);
  const node = generate('node', ['--runtime', 'onnxruntime-node']);
  expect(node.runtime).toMatchObject({ name: 'onnxruntime-node', fallback_reason: null });
  expect(node.lines).toEqual(direct.lines);
});

test('when the direct runtime cannot load, the run falls back to onnxruntime-node and the report says why', () => {
  const fallback = generate('fallback', [], { QWEN_GEN_ORT_LIBRARY: NOT_A_LIBRARY });
  expect(fallback.runtime.name).toBe('onnxruntime-node');
  expect(fallback.runtime.fallback_reason).toContain(NOT_A_LIBRARY);
  expect(fallback.lines).toEqual(generate('direct-again', []).lines);
});

test('--runtime direct where it cannot load is a clear error, not a silent fallback', () => {
  const result = runCli([FIXTURE, '-m', 'tiny', '--runtime', 'direct'], { env: { QWEN_GEN_ORT_LIBRARY: NOT_A_LIBRARY } });
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/direct runtime cannot be used: .*libonnxruntime\.so\.1/);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(result.stdout).toBe('');
});

// Both runtimes must apply qwen-gen's session config entries (prepacking, spinning, denormals), or their kernels and
// tokens could differ. An entry with an effect anyone can see: `session.load_model_format=ORT` makes onnxruntime read the
// .onnx file as an ORT-format model, which fails. onnxruntime-node once received the entries nested under `session`
// (which it joins to `session.session.…`) and silently ignored every one of them.
test.each(['direct', 'onnxruntime-node'])('the %s runtime applies the session config entries', (runtime) => {
  const withEntry = runCli([FIXTURE, '-m', 'tiny', '--runtime', runtime, '--max-tokens', '2'], {
    env: { QWEN_GEN_SESSION_CONFIG: 'session.load_model_format=ORT' },
  });
  expect(withEntry.status).toBe(2);
  expect(withEntry.stderr).toMatch(/ORT model verification failed|load_model_format|ORT format/i);
  // Control: the same run without the entry loads and generates.
  const without = runCli([FIXTURE, '-m', 'tiny', '--runtime', runtime, '--max-tokens', '2']);
  expect(without.status).toBe(0);
  expect(parseJsonl(without.stdout).length).toBe(13);
});

test('inspect names the runtime and how it handles the KV cache', () => {
  const direct = runCli(['inspect', 'tiny']);
  expect(direct.status).toBe(0);
  expect(direct.stdout).toMatch(/runtime\s+direct \(onnxruntime 1\.30\.0 C API\): two reused buffers alternate/);
  const json = runCli(['inspect', 'tiny', '--json'], { env: { QWEN_GEN_RUNTIME: 'onnxruntime-node' } });
  expect(JSON.parse(json.stdout).model.runtime).toMatchObject({ name: 'onnxruntime-node', fallback_reason: null });
});

// A session the direct runtime cannot create. QWEN_GEN_ORT_LIBRARY points the direct runtime at a copy of onnxruntime's
// library in which the operator name "MatMul" is spelled "MatMuX" — a real onnxruntime build that does not know an
// operator the graph uses (as a reduced-operator build would): its CreateSession refuses the graph with its own message
// ("No Op registered for MatMul"), while onnxruntime-node, on the untouched library, loads it.
describe('a session the direct runtime cannot create', () => {
  let modelDir: string;
  let withoutMatMul: string;
  const PROMPTS = '{"id":"a","prompt":"Hello"}\n{"id":"b","prompt":"Good morning"}\n';

  beforeAll(async () => {
    modelDir = await buildTestModel('runtime-session-fallback');
    const library = fs.readFileSync(ortLibraryPath());
    const name = Buffer.from('MatMul\0');
    let patched = 0;
    for (let at = library.indexOf(name); at >= 0; at = library.indexOf(name, at + 1)) {
      library[at + 5] = 'X'.charCodeAt(0);
      patched++;
    }
    expect(patched).toBeGreaterThan(0);
    withoutMatMul = path.join(work, 'without-matmul', path.basename(ortLibraryPath()));
    fs.mkdirSync(path.dirname(withoutMatMul));
    fs.writeFileSync(withoutMatMul, library);
  });

  function run(name: string, extra: string[], env: NodeJS.ProcessEnv) {
    const report = path.join(work, `${name}.report.json`);
    const result = runCli(['-', '-m', modelDir, '--greedy', '--max-tokens', '4', '--report', report, ...extra], { input: PROMPTS, env });
    return { ...result, report: fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, 'utf8')) : null };
  }
  const texts = (stdout: string) => parseJsonl(stdout).map((r) => [r.id, r.text]).sort();

  test('--runtime auto falls back to onnxruntime-node: the report and a warning give the reason; the lines are the same', () => {
    const direct = run('session-direct', [], {});
    expect(direct.status).toBe(0);
    expect(direct.report.model.runtime).toMatchObject({ name: 'direct', fallback_reason: null });

    const fallback = run('session-fallback', [], { QWEN_GEN_ORT_LIBRARY: withoutMatMul });
    expect(fallback.stderr).not.toMatch(/\n\s+at /);
    expect(fallback.status).toBe(0);
    const reason = fallback.report.model.runtime.fallback_reason as string;
    expect(fallback.report.model.runtime.name).toBe('onnxruntime-node');
    expect(reason).toMatch(/^the direct runtime \(onnxruntime 1\.30\.0 C API\) could not create a session for .*\/onnx\/model[^ ]*\.onnx: .*No Op registered for MatMul/);
    expect(reason).toContain(modelDir);
    expect(fallback.stderr).toContain(`qwen-gen: warning: ${reason}; running on onnxruntime-node instead`);
    expect(texts(fallback.stdout)).toEqual(texts(direct.stdout));
    expect(texts(fallback.stdout)).toHaveLength(2);
  });

  test('--runtime direct fails (exit 2) with a message naming the runtime and the model file', () => {
    const result = run('session-direct-only', ['--runtime', 'direct'], { QWEN_GEN_ORT_LIBRARY: withoutMatMul });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `qwen-gen: onnxruntime could not load ${path.join(modelDir, 'onnx', 'model.onnx')}: the direct runtime (onnxruntime 1.30.0 C API) could not create a session (--runtime direct): `,
    );
    expect(result.stderr).toMatch(/No Op registered for MatMul/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('negative control: the same library, not used (--runtime onnxruntime-node), runs the graph with no fallback', () => {
    const result = run('session-node', ['--runtime', 'onnxruntime-node'], { QWEN_GEN_ORT_LIBRARY: withoutMatMul });
    expect(result.status).toBe(0);
    expect(result.report.model.runtime).toMatchObject({ name: 'onnxruntime-node', fallback_reason: null });
    expect(result.stderr).not.toMatch(/warning: the direct runtime/);
  });

  test('a graph neither runtime can load: exit 2, the message names the file and both runtimes\' errors', () => {
    const broken = path.join(work, 'broken-model');
    fs.cpSync(modelDir, broken, { recursive: true });
    const onnxPath = path.join(broken, 'onnx', 'model.onnx');
    for (const file of fs.readdirSync(path.dirname(onnxPath))) if (file !== 'model.onnx') fs.rmSync(path.join(broken, 'onnx', file));
    const model = onnx.ModelProto.decode(fs.readFileSync(onnxPath));
    model.graph!.node!.find((n) => n.opType === 'Mul')!.opType = 'NoSuchOperator';
    fs.writeFileSync(onnxPath, onnx.ModelProto.encode(model).finish());
    const result = runCli(['-', '-m', broken, '--no-derived-graph'], { input: PROMPTS });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`onnxruntime could not load ${onnxPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: neither runtime could create a session — onnxruntime-node: .*NoSuchOperator.*; the direct runtime \\(onnxruntime 1\\.30\\.0 C API\\) could not create a session: .*NoSuchOperator`),
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
