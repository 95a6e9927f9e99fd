import * as fs from 'node:fs';
import * as path from 'node:path';
import { OrtDirectSession } from '../../src/runtime/direct/ortSession';
import {
  describeSession,
  prepackedWeightBytes,
  sessionConfigEntries,
  sessionSettings,
} from '../../src/runtime/sessionOptions';
import { buildTestModel, tempDir } from '../helpers/testModels';

describe('session settings', () => {
  test('default: prepacking on (onnxruntime\'s default, no entry), intra-op spinning off, denormals as onnxruntime has them', () => {
    const settings = sessionSettings(undefined, {});
    expect(settings).toEqual({ threads: 0, disablePrepacking: false, allowSpinning: false, denormalAsZero: false, profileFilePrefix: undefined });
    expect(sessionConfigEntries(settings)).toEqual({ 'session.intra_op.allow_spinning': '0' });
    expect(describeSession(settings)).toEqual({ threads: 0, prepacking: true, intraOpSpinning: false, configEntries: { 'session.intra_op.allow_spinning': '0' } });
  });

  test('the measurement switches become onnxruntime config entries', () => {
    const settings = sessionSettings(2, { QWEN_GEN_PREPACKING: '0', QWEN_GEN_SPINNING: '0', QWEN_GEN_DENORMAL_AS_ZERO: '1', QWEN_GEN_PROFILE: '/tmp/p' });
    expect(settings.profileFilePrefix).toBe('/tmp/p');
    expect(sessionConfigEntries(settings)).toEqual({
      'session.disable_prepacking': '1',
      'session.intra_op.allow_spinning': '0',
      'session.set_denormal_as_zero': '1',
    });
    expect(sessionConfigEntries(sessionSettings(2, { QWEN_GEN_SPINNING: '1' }))).toEqual({ 'session.intra_op.allow_spinning': '1' });
    // Anything else keeps the defaults.
    expect(sessionConfigEntries(sessionSettings(2, { QWEN_GEN_SPINNING: 'yes', QWEN_GEN_PREPACKING: '' }))).toEqual({ 'session.intra_op.allow_spinning': '0' });
    // Raw entries, for measurements, on top.
    expect(sessionConfigEntries(sessionSettings(2, { QWEN_GEN_SESSION_CONFIG: 'session.intra_op.spin_duration_us=20, a.b = c' }))).toEqual({
      'session.intra_op.allow_spinning': '0',
      'session.intra_op.spin_duration_us': '20',
      'a.b': 'c',
    });
  });

  test('prepacked memory: the weights again plus the tied embedding twice over; nothing without prepacking', () => {
    const weights = { fileBytes: 898e6, tiedEmbeddingBytes: 151936 * 1024 * 4 };
    expect(prepackedWeightBytes(weights, { disablePrepacking: false })).toBe(898e6 + 151936 * 1024 * 4);
    expect(prepackedWeightBytes(weights, { disablePrepacking: true })).toBe(0);
  });
});

test("onnxruntime's profiler through the direct runtime (EnableProfiling, slot 14): a per-node trace written at release", async () => {
  const dir = await buildTestModel('profile', { attention: 'gqa' });
  const out = tempDir('profile-out');
  const run = async (profileFilePrefix?: string) => {
    const session = await OrtDirectSession.create(path.join(dir, 'onnx', 'model.onnx'), { threads: 1, profileFilePrefix });
    const int64 = (values: number[], dims: number[]) => ({ type: 'int64' as const, data: BigInt64Array.from(values, BigInt), dims });
    const inputs: Record<string, Parameters<OrtDirectSession['run']>[0][string]> = {
      input_ids: int64([1, 2, 3], [1, 3]),
      attention_mask: int64([1, 1, 1], [1, 3]),
      position_ids: int64([0, 1, 2], [1, 3]),
    };
    const outputs: Record<string, Parameters<OrtDirectSession['run']>[1][string]> = {
      logits: { type: 'float32', data: new Float32Array(3 * 151936), dims: [1, 3, 151936] },
    };
    for (const name of session.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
      inputs[name] = { type: 'float32', data: new Float32Array(0), dims: [1, 2, 0, 16] };
      outputs[name.replace('past_key_values', 'present')] = { type: 'float32', data: new Float32Array(3 * 2 * 16), dims: [1, 2, 3, 16] };
    }
    await session.run(inputs, outputs);
    session.release();
  };
  await run(path.join(out, 'trace'));
  const traces = fs.readdirSync(out).filter((name) => name.startsWith('trace') && name.endsWith('.json'));
  expect(traces).toHaveLength(1);
  const events = JSON.parse(fs.readFileSync(path.join(out, traces[0]), 'utf8')) as { cat: string; args?: { op_name?: string } }[];
  const ops = new Set(events.filter((e) => e.cat === 'Node').map((e) => e.args?.op_name));
  expect(ops.has('GroupQueryAttention')).toBe(true);
  expect(ops.has('MatMul') || ops.has('FusedMatMul')).toBe(true);
  // Negative control: without the option nothing is written.
  await run(undefined);
  expect(fs.readdirSync(out).filter((name) => name.endsWith('.json'))).toHaveLength(1);
});
