import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseJsonl, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/testModels';

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

test('inspect names the runtime and how it handles the KV cache', () => {
  const direct = runCli(['inspect', 'tiny']);
  expect(direct.status).toBe(0);
  expect(direct.stdout).toMatch(/runtime\s+direct \(onnxruntime 1\.30\.0 C API\): two reused buffers alternate/);
  const json = runCli(['inspect', 'tiny', '--json'], { env: { QWEN_GEN_RUNTIME: 'onnxruntime-node' } });
  expect(JSON.parse(json.stdout).model.runtime).toMatchObject({ name: 'onnxruntime-node', fallback_reason: null });
});
