import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ortApi, ORT_API_SLOTS } from '../../src/runtime/direct/ortApi';
import { DirectTensor, directRuntimeAvailable, OrtDirectSession } from '../../src/runtime/direct/ortSession';
import { checkStatus, OrtStatusError } from '../../src/runtime/direct/ortStatus';
import { buildTestModel } from '../helpers/testModels';

// The tiny model's shape (DEFAULT_TINY_OPTIONS): 2 layers, 2 KV heads of 16, the real Qwen3 vocabulary.
const LAYERS = 2;
const KV_HEADS = 2;
const HEAD_DIM = 16;
const VOCAB = 151936;

const KINDS = ['plain', 'gqa', 'gqa-fp16kv'] as const;
type Kind = (typeof KINDS)[number];
const KIND_OPTIONS = {
  plain: { attention: 'plain' },
  gqa: { attention: 'gqa' },
  // float16 past/present (Uint16Array data), the rest of the graph float32.
  'gqa-fp16kv': { attention: 'gqa', kvDtype: 'float16' },
} as const;

const modelPaths = new Map<Kind, string>();
const direct = new Map<Kind, OrtDirectSession>();
const reference = new Map<Kind, ort.InferenceSession>();

beforeAll(async () => {
  expect(directRuntimeAvailable()).toEqual({ ok: true, version: '1.30.0' });
  for (const attention of KINDS) {
    const dir = await buildTestModel(`ort-direct-${attention}`, { ...KIND_OPTIONS[attention], seed: 5 });
    const onnxPath = path.join(dir, 'onnx', 'model.onnx');
    modelPaths.set(attention, onnxPath);
    direct.set(attention, await OrtDirectSession.create(onnxPath, { threads: 1, disablePrepacking: true, denormalAsZero: true }));
    reference.set(attention, await ort.InferenceSession.create(onnxPath, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      extra: { session: { 'session.disable_prepacking': '1', 'session.set_denormal_as_zero': '1' } },
    }));
  }
});

afterAll(async () => {
  for (const session of direct.values()) session.release();
  for (const session of reference.values()) await session.release();
});

const int64 = (values: number[], dims: number[]): DirectTensor => ({ type: 'int64', data: BigInt64Array.from(values, BigInt), dims });
const float32 = (dims: number[], data = new Float32Array(dims.reduce((a, b) => a * b, 1))): DirectTensor => ({ type: 'float32', data, dims });
/** A KV tensor of the graph's KV type (float16 as Uint16Array). */
const kvTensor = (kind: Kind, dims: number[]): DirectTensor => {
  const n = dims.reduce((a, b) => a * b, 1);
  return kind === 'gqa-fp16kv' ? { type: 'float16', data: new Uint16Array(n), dims } : float32(dims);
};
const kvNames = (prefix: 'past_key_values' | 'present') =>
  Array.from({ length: LAYERS }, (_, i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]).flat();

/** Feeds for a batch whose rows all hold `past` real tokens and add `ids[b].length` new ones (no padding). */
function stepInputs(session: OrtDirectSession, ids: number[][], past: number, pastKv: Record<string, DirectTensor>): Record<string, DirectTensor> {
  const batch = ids.length;
  const seq = ids[0].length;
  const inputs: Record<string, DirectTensor> = {
    input_ids: int64(ids.flat(), [batch, seq]),
    attention_mask: int64(new Array(batch * (past + seq)).fill(1), [batch, past + seq]),
    ...pastKv,
  };
  if (session.inputNames.includes('position_ids')) {
    inputs.position_ids = int64(ids.flatMap(() => Array.from({ length: seq }, (_, s) => past + s)), [batch, seq]);
  }
  return inputs;
}

const toOrt = (feeds: Record<string, DirectTensor>): Record<string, ort.Tensor> =>
  Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
function expectBitIdentical(actual: ArrayBufferView, expected: ArrayBufferView): void {
  expect(actual.byteLength).toBe(expected.byteLength);
  expect(bytes(actual).equals(bytes(expected))).toBe(true);
}

/** A step on the direct session with freshly allocated outputs (logits + present.*). */
async function directStep(session: OrtDirectSession, inputs: Record<string, DirectTensor>, batch: number, seq: number, total: number, kind: Kind = 'plain') {
  const outputs: Record<string, DirectTensor> = { logits: float32([batch, seq, VOCAB]) };
  for (const name of kvNames('present')) outputs[name] = kvTensor(kind, [batch, KV_HEADS, total, HEAD_DIM]);
  await session.run(inputs, outputs);
  return outputs;
}

/** A full garbage collection (the jest environment provides `gc`, see test/helpers/jestEnvironment.js). */
function collectGarbage(): void {
  if (typeof global.gc !== 'function') throw new Error('global.gc is missing: the memory checks below would measure nothing');
  global.gc();
}

test('global.gc is a real collection: an object only a WeakRef points to is gone after it; one still referenced stays', async () => {
  const made = () => new WeakRef({ payload: new Array(1000).fill(1) });
  const kept = { strong: { payload: [1] } };
  const refs = { dropped: made(), kept: new WeakRef(kept.strong) };
  await new Promise((resolve) => setImmediate(resolve)); // WeakRef targets are kept alive until the current job ends
  collectGarbage();
  expect(refs.dropped.deref()).toBeUndefined();
  expect(refs.kept.deref()).toBe(kept.strong);
});

const PROMPTS = [
  [9707, 11, 1879, 0, 358],
  [785, 3974, 13876, 38835, 34208],
];

describe.each(KINDS)('%s graph', (kind) => {
  test('reports its inputs and outputs like onnxruntime-node', () => {
    const session = direct.get(kind)!;
    const ref = reference.get(kind)!;
    expect(session.inputNames).toEqual(ref.inputNames);
    expect(session.outputNames).toEqual(ref.outputNames);
    expect(session.inputInfo('input_ids')).toEqual({ type: 'int64', dims: [-1, -1] });
    expect(session.inputInfo('past_key_values.0.key')).toEqual({ type: kind === 'gqa-fp16kv' ? 'float16' : 'float32', dims: [-1, KV_HEADS, -1, HEAD_DIM] });
    expect(session.outputInfo('logits')).toEqual({ type: 'float32', dims: [-1, -1, VOCAB] });
    for (const meta of ref.inputMetadata) {
      if (!meta.isTensor) continue;
      const info = session.inputInfo(meta.name);
      expect(info.type).toBe(meta.type);
      expect(info.dims).toEqual(meta.shape.map((d) => (typeof d === 'number' ? d : -1)));
    }
    expect(() => session.inputInfo('nope')).toThrow(/no input named nope/);
  });

  test('prefill and a chained decode step: logits and presents bit-identical to onnxruntime-node', async () => {
    const session = direct.get(kind)!;
    const ref = reference.get(kind)!;
    const batch = PROMPTS.length;
    const seq = PROMPTS[0].length;
    const emptyPast = Object.fromEntries(kvNames('past_key_values').map((n) => [n, kvTensor(kind, [batch, KV_HEADS, 0, HEAD_DIM])]));

    const prefillInputs = stepInputs(session, PROMPTS, 0, emptyPast);
    // The run happens off the JS thread: the event loop keeps turning while onnxruntime computes.
    // One tiny run can complete before the loop reaches its check phase, so the loop is given
    // several runs; a run done on the JS thread (resolved through microtasks) never lets it turn.
    let turns = 0;
    let settled = false;
    const spin = (): void => void (settled || (turns++, setImmediate(spin)));
    setImmediate(spin);
    let got = await directStep(session, prefillInputs, batch, seq, seq, kind);
    for (let run = 1; run < 50 && turns === 0; run++) got = await directStep(session, prefillInputs, batch, seq, seq, kind);
    settled = true;
    expect(turns).toBeGreaterThan(0);
    const want = (await ref.run(toOrt(prefillInputs))) as Record<string, ort.Tensor>;
    expectBitIdentical(got.logits.data, want.logits.data as Float32Array);
    for (const name of kvNames('present')) {
      expect(want[name].dims).toEqual(got[name].dims);
      expect(want[name].type).toBe(got[name].type);
      expectBitIdentical(got[name].data, want[name].data as Float32Array | Uint16Array);
    }

    // Decode: each side feeds its own presents back.
    const next = [[151644], [42]];
    const directPast = Object.fromEntries(kvNames('past_key_values').map((n, i) => [n, got[kvNames('present')[i]]]));
    const decodeInputs = stepInputs(session, next, seq, directPast);
    const got2 = await directStep(session, decodeInputs, batch, 1, seq + 1, kind);
    const refPast = Object.fromEntries(kvNames('past_key_values').map((n, i) => [n, want[kvNames('present')[i]]]));
    const want2 = (await ref.run({ ...toOrt(stepInputs(session, next, seq, {})), ...refPast })) as Record<string, ort.Tensor>;
    expectBitIdentical(got2.logits.data, want2.logits.data as Float32Array);
    for (const name of kvNames('present')) expectBitIdentical(got2[name].data, want2[name].data as Float32Array | Uint16Array);
    // The logits really vary (not an all-zero buffer that nobody wrote).
    expect(new Set(Array.from((got2.logits.data as Float32Array).subarray(0, 1000))).size).toBeGreaterThan(100);
  });

  test('an onnxruntime error rejects with onnxruntime\'s message, and the session still works afterwards', async () => {
    const session = direct.get(kind)!;
    const ref = reference.get(kind)!;
    const emptyPast = Object.fromEntries(kvNames('past_key_values').map((n) => [n, kvTensor(kind, [1, KV_HEADS, 0, HEAD_DIM])]));
    const good = stepInputs(session, [PROMPTS[0]], 0, emptyPast);
    // A past whose head_dim disagrees with the graph.
    const bad = { ...good, 'past_key_values.0.key': kvTensor(kind, [1, KV_HEADS, 0, HEAD_DIM + 1]) };
    // (onnxruntime-node's Error comes from the host realm: not `instanceof` jest's Error.)
    const refError = await ref.run(toOrt(bad)).then(() => undefined, (e: Error) => e);
    expect(typeof refError?.message).toBe('string');
    const error = await directStep(session, bad, 1, 5, 5, kind).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OrtStatusError);
    expect((error as OrtStatusError).message).toBe(refError!.message);
    expect((error as OrtStatusError).codeName).toBe('ORT_INVALID_ARGUMENT');
    expect((error as OrtStatusError).operation).toBe('Run');

    // Bad tensors are refused before any native call.
    await expect(session.run({ ...good, input_ids: { type: 'int64', data: new Float32Array(5) as never, dims: [1, 5] } }, { logits: float32([1, 5, VOCAB]) }))
      .rejects.toThrow(/input_ids .*must be a BigInt64Array/);
    await expect(session.run({ ...good, input_ids: int64([1, 2, 3], [1, 5]) }, { logits: float32([1, 5, VOCAB]) }))
      .rejects.toThrow(/3 elements, dims need 5/);
    await expect(session.run(good, { nope: float32([1]) })).rejects.toThrow(/nope/);

    const after = await directStep(session, good, 1, 5, 5, kind);
    const want = (await ref.run(toOrt(good))) as Record<string, ort.Tensor>;
    expectBitIdentical(after.logits.data, want.logits.data as Float32Array);
    expect(session.runsInFlight).toBe(0);
  });
});

test('GroupQueryAttention in place: one capacity buffer as past and present gives the ordinary logits exactly', async () => {
  const session = direct.get('gqa')!;
  const batch = PROMPTS.length;
  const seq = PROMPTS[0].length;
  const capacity = 16;
  // Ordinary run (growing presents).
  const emptyPast = Object.fromEntries(kvNames('past_key_values').map((n) => [n, float32([batch, KV_HEADS, 0, HEAD_DIM])]));
  const prefill = await directStep(session, stepInputs(session, PROMPTS, 0, emptyPast), batch, seq, seq);
  const ordinaryPast = Object.fromEntries(kvNames('past_key_values').map((n, i) => [n, prefill[kvNames('present')[i]]]));
  const next = [[151644], [42]];
  const decode = await directStep(session, stepInputs(session, next, seq, ordinaryPast), batch, 1, seq + 1);

  // In place: the same DirectTensor object is past_key_values.i.* and present.i.*; mask width = real past + new.
  const cache = kvNames('past_key_values').map(() => float32([batch, KV_HEADS, capacity, HEAD_DIM]));
  const bound = (inputs: Record<string, DirectTensor>) => {
    const outputs: Record<string, DirectTensor> = { logits: float32([batch, inputs.input_ids.dims[1], VOCAB]) };
    kvNames('present').forEach((name, i) => (outputs[name] = cache[i]));
    return outputs;
  };
  const inPast = Object.fromEntries(kvNames('past_key_values').map((n, i) => [n, cache[i]]));
  const prefillInputs = stepInputs(session, PROMPTS, 0, inPast);
  const prefillOut = bound(prefillInputs);
  await session.run(prefillInputs, prefillOut);
  expectBitIdentical(prefillOut.logits.data, prefill.logits.data);
  const decodeInputs = stepInputs(session, next, seq, inPast);
  const decodeOut = bound(decodeInputs);
  await session.run(decodeInputs, decodeOut);
  expectBitIdentical(decodeOut.logits.data, decode.logits.data);
  // The capacity buffer holds the ordinary present in its first slots of every (row, head).
  for (let i = 0; i < cache.length; i++) {
    const ordinary = decode[kvNames('present')[i]].data as Float32Array;
    const buffer = cache[i].data as Float32Array;
    for (let bh = 0; bh < batch * KV_HEADS; bh++) {
      expectBitIdentical(
        buffer.subarray(bh * capacity * HEAD_DIM, (bh * capacity + seq + 1) * HEAD_DIM),
        ordinary.subarray(bh * (seq + 1) * HEAD_DIM, (bh + 1) * (seq + 1) * HEAD_DIM),
      );
    }
  }
});

test('every OrtApi slot the binding uses answers as the header says (real calls)', () => {
  const api = ortApi();
  const { koffi } = api.library;
  // The table is the one the header gives (ordered, unique slots).
  const slots = api.slots.map((s) => s.slot);
  expect(new Set(slots).size).toBe(slots.length);
  expect(api.slots.map((s) => s.name)).toEqual(Object.keys(ORT_API_SLOTS));

  // CreateSessionOptions(10), AddSessionConfigEntry(130), HasSessionConfigEntry(237), ReleaseSessionOptions(100).
  const optionsOut: unknown[] = [null];
  checkStatus(api, api.CreateSessionOptions(optionsOut), 'CreateSessionOptions');
  try {
    const has = (key: string) => {
      const out: unknown[] = [-1];
      checkStatus(api, api.HasSessionConfigEntry(optionsOut[0], key, out), 'HasSessionConfigEntry');
      return out[0];
    };
    expect(has('session.set_denormal_as_zero')).toBe(0);
    checkStatus(api, api.AddSessionConfigEntry(optionsOut[0], 'session.set_denormal_as_zero', '1'), 'AddSessionConfigEntry');
    expect(has('session.set_denormal_as_zero')).toBe(1);
    // The setters take their argument without error: SetSessionGraphOptimizationLevel(23), SetSessionExecutionMode(13),
    // SetIntraOpNumThreads(24), SetInterOpNumThreads(25); a wrong slot would not return NULL for all four.
    checkStatus(api, api.SetSessionGraphOptimizationLevel(optionsOut[0], 99), 'SetSessionGraphOptimizationLevel');
    checkStatus(api, api.SetSessionExecutionMode(optionsOut[0], 0), 'SetSessionExecutionMode');
    checkStatus(api, api.SetIntraOpNumThreads(optionsOut[0], 1), 'SetIntraOpNumThreads');
    checkStatus(api, api.SetInterOpNumThreads(optionsOut[0], 1), 'SetInterOpNumThreads');
    // An invalid execution mode is refused with a status: GetErrorCode(1), GetErrorMessage(2), ReleaseStatus(93).
    expect(() => checkStatus(api, api.SetSessionExecutionMode(optionsOut[0], 7), 'SetSessionExecutionMode')).toThrow(OrtStatusError);
  } finally {
    api.ReleaseSessionOptions(optionsOut[0]);
  }

  // CreateCpuMemoryInfo(69), CreateTensorWithDataAsOrtValue(49), GetTensorMutableData(51), GetTensorTypeAndShape(65),
  // GetTensorElementType(60), GetDimensionsCount(61), GetDimensions(62), GetTensorShapeElementCount(64),
  // ReleaseTensorTypeAndShapeInfo(99), ReleaseValue(96), ReleaseMemoryInfo(94).
  const infoOut: unknown[] = [null];
  checkStatus(api, api.CreateCpuMemoryInfo(0, 0, infoOut), 'CreateCpuMemoryInfo');
  const big = new Float32Array(64);
  const views: Array<[Float32Array | Uint16Array, number]> = [[big.subarray(8, 32), 1], [new Uint16Array(3), 10]];
  try {
    for (const [view, onnxType] of views) {
      const shape = BigInt64Array.of(1n, BigInt(view.length));
      const valueOut: unknown[] = [null];
      checkStatus(api, api.CreateTensorWithDataAsOrtValue(infoOut[0], view, view.byteLength, shape, 2, onnxType, valueOut), 'CreateTensorWithDataAsOrtValue');
      const value = valueOut[0];
      try {
        // Churn the heap: a small on-heap typed array must not move once onnxruntime holds its address.
        collectGarbage();
        for (let i = 0; i < 2000; i++) new Uint8Array(32).fill(i);
        view[view.length - 1] = 1234;
        const dataOut: unknown[] = [null];
        checkStatus(api, api.GetTensorMutableData(value, dataOut), 'GetTensorMutableData');
        // onnxruntime points at the typed array's own memory (no copy): it sees the write made after creation.
        const seen = koffi.decode(dataOut[0], view instanceof Float32Array ? 'float' : 'uint16_t', view.length) as ArrayLike<number>;
        expect(seen[view.length - 1]).toBe(1234);
        koffi.encode(dataOut[0], view instanceof Float32Array ? 'float' : 'uint16_t', 77);
        expect(view[0]).toBe(77);
        const shapeOut: unknown[] = [null];
        checkStatus(api, api.GetTensorTypeAndShape(value, shapeOut), 'GetTensorTypeAndShape');
        try {
          const element: unknown[] = [0];
          const rank: unknown[] = [0];
          const count: unknown[] = [0];
          checkStatus(api, api.GetTensorElementType(shapeOut[0], element), 'GetTensorElementType');
          checkStatus(api, api.GetDimensionsCount(shapeOut[0], rank), 'GetDimensionsCount');
          checkStatus(api, api.GetTensorShapeElementCount(shapeOut[0], count), 'GetTensorShapeElementCount');
          const dims = new BigInt64Array(2);
          checkStatus(api, api.GetDimensions(shapeOut[0], dims, 2), 'GetDimensions');
          expect([element[0], rank[0], count[0], Array.from(dims, Number)]).toEqual([onnxType, 2, view.length, [1, view.length]]);
        } finally {
          api.ReleaseTensorTypeAndShapeInfo(shapeOut[0]);
        }
      } finally {
        api.ReleaseValue(value);
      }
    }
    // Too small a buffer for the shape is refused by onnxruntime.
    const out: unknown[] = [null];
    expect(() => checkStatus(api, api.CreateTensorWithDataAsOrtValue(infoOut[0], big, 8, BigInt64Array.of(4n), 1, 1, out), 'CreateTensorWithDataAsOrtValue'))
      .toThrow(OrtStatusError);
  } finally {
    api.ReleaseMemoryInfo(infoOut[0]);
  }
  // The rest (CreateEnv 3, CreateSession 7, Run 9, SessionGet{Input,Output}{Count,Name,TypeInfo} 30/31/33/34/36/37,
  // CastTypeInfoToTensorInfo 55, GetOnnxTypeFromTypeInfo 56, AllocatorFree 76, GetAllocatorWithDefaultOptions 78,
  // ReleaseSession 95, ReleaseTypeInfo 98, CreateRunOptions 39, RunOptionsSetTerminate 46, ReleaseRunOptions 97) are
  // exercised by the session tests above and below: names and types equal onnxruntime-node's, logits bit-identical.
});

/**
 * A session and feeds for a run that takes hundreds of ms on one thread: a deeper graph (32 layers, ~900 nodes) over 1,024
 * tokens, with logits for the last position only (num_logits_to_keep).
 */
async function longRun(): Promise<{ session: OrtDirectSession; inputs: Record<string, DirectTensor>; outputs: { logits: DirectTensor & { data: Float32Array } } }> {
  const shape = { layers: 32, hiddenSize: 64, heads: 4, kvHeads: 2, headDim: 16, intermediateSize: 256, withLogitsToKeep: true };
  const dir = await buildTestModel('ort-direct-long', { ...shape, seed: 9 });
  const session = await OrtDirectSession.create(path.join(dir, 'onnx', 'model.onnx'), { threads: 1 });
  const seq = 1024;
  const inputs: Record<string, DirectTensor> = {
    input_ids: int64(Array.from({ length: seq }, (_, i) => (i * 37) % 150000), [1, seq]),
    attention_mask: int64(new Array(seq).fill(1), [1, seq]),
    position_ids: int64(Array.from({ length: seq }, (_, i) => i), [1, seq]),
    num_logits_to_keep: int64([1], []),
  };
  for (let i = 0; i < shape.layers; i++) {
    for (const kind of ['key', 'value']) inputs[`past_key_values.${i}.${kind}`] = float32([1, shape.kvHeads, 0, shape.headDim]);
  }
  return { session, inputs, outputs: { logits: { type: 'float32', data: new Float32Array(VOCAB), dims: [1, 1, VOCAB] } } };
}

test('abort: RunOptionsSetTerminate stops a run; an aborted signal refuses to start; the session keeps working', async () => {
  const session = direct.get('plain')!;
  const api = ortApi();
  const emptyPast = Object.fromEntries(kvNames('past_key_values').map((n) => [n, float32([1, KV_HEADS, 0, HEAD_DIM])]));
  const inputs = stepInputs(session, [PROMPTS[0]], 0, emptyPast);
  const outputs = { logits: float32([1, 5, VOCAB]) };

  // Deterministic check of the slots (CreateRunOptions 39, RunOptionsSetTerminate 46, Run 9 called synchronously,
  // ReleaseRunOptions 97): a run whose options carry the terminate flag fails with onnxruntime's message.
  const runOptionsOut: unknown[] = [null];
  checkStatus(api, api.CreateRunOptions(runOptionsOut), 'CreateRunOptions');
  const cpuInfo: unknown[] = [null];
  checkStatus(api, api.CreateCpuMemoryInfo(0, 0, cpuInfo), 'CreateCpuMemoryInfo');
  const values: unknown[] = [];
  try {
    checkStatus(api, api.RunOptionsSetTerminate(runOptionsOut[0]), 'RunOptionsSetTerminate');
    for (const t of [...Object.values(inputs), outputs.logits]) {
      const out: unknown[] = [null];
      checkStatus(api, api.CreateTensorWithDataAsOrtValue(cpuInfo[0], t.data, t.data.byteLength, BigInt64Array.from(t.dims, BigInt), t.dims.length, t.type === 'int64' ? 7 : 1, out), 'CreateTensorWithDataAsOrtValue');
      values.push(out[0]);
    }
    const names = Object.keys(inputs);
    const handle = (session as unknown as { handle: unknown }).handle;
    const status = api.Run(handle, runOptionsOut[0], names, values.slice(0, -1), names.length, ['logits'], 1, values.slice(-1));
    expect(() => checkStatus(api, status, 'Run')).toThrow(/terminate flag/);
  } finally {
    for (const value of values) api.ReleaseValue(value);
    api.ReleaseRunOptions(runOptionsOut[0]);
    api.ReleaseMemoryInfo(cpuInfo[0]);
  }

  // Through run(): an abort while the run is in flight stops it at the next node. The run is long (see longRun) and the abort comes as soon as it is queued, so onnxruntime sees the
  // flag long before the last node: the run rejects, and the logits (the last node's output) are never written.
  const long = await longRun();
  long.outputs.logits.data.fill(Number.NaN);
  const controller = new AbortController();
  const running = long.session.run(long.inputs, long.outputs, { signal: controller.signal });
  controller.abort();
  await expect(running).rejects.toThrow(/terminate flag/);
  expect(long.outputs.logits.data.every(Number.isNaN)).toBe(true);
  // Negative control: the same run without the abort completes and writes the logits.
  await long.session.run(long.inputs, long.outputs);
  expect(long.outputs.logits.data.some(Number.isNaN)).toBe(false);
  expect(long.session.runsInFlight).toBe(0);
  long.session.release();

  const already = new AbortController();
  already.abort();
  await expect(session.run(inputs, outputs, { signal: already.signal })).rejects.toThrow(/abort/i);
  await session.run(inputs, outputs);
  expect(session.runsInFlight).toBe(0);
});

test('2,000 decode steps keep RSS flat: every OrtValue and status is released', async () => {
  const session = direct.get('gqa')!;
  const past = 4;
  const pastKv = Object.fromEntries(kvNames('past_key_values').map((n) => [n, float32([1, KV_HEADS, past, HEAD_DIM], new Float32Array(KV_HEADS * past * HEAD_DIM).fill(0.01))]));
  const inputs = stepInputs(session, [[42]], past, pastKv);
  const outputs: Record<string, DirectTensor> = { logits: float32([1, 1, VOCAB]) };
  for (const name of kvNames('present')) outputs[name] = float32([1, KV_HEADS, past + 1, HEAD_DIM]);
  const bad = { ...inputs, 'past_key_values.0.key': float32([1, KV_HEADS, past, HEAD_DIM + 1]) };
  for (let i = 0; i < 100; i++) await session.run(inputs, outputs);
  const first = new Float32Array(outputs.logits.data as Float32Array);

  // Count native objects as they are made and released (OrtValues and OrtStatuses are small, so RSS alone would hide
  // a leak of them: leaking every OrtValue here adds only ~7 MB over 2,000 steps).
  const api = ortApi() as unknown as Record<string, (...args: unknown[]) => unknown>;
  const counts = { values: 0, valuesReleased: 0, statuses: 0, statusesReleased: 0 };
  const originals = { ...api };
  api.CreateTensorWithDataAsOrtValue = (...args) => {
    const status = originals.CreateTensorWithDataAsOrtValue(...args);
    if (!status) counts.values++;
    return status;
  };
  api.ReleaseValue = (value) => (counts.valuesReleased++, originals.ReleaseValue(value));
  api.GetErrorCode = (status) => (counts.statuses++, originals.GetErrorCode(status));
  api.ReleaseStatus = (status) => (counts.statusesReleased++, originals.ReleaseStatus(status));
  try {
    collectGarbage();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 2000; i++) {
      // Every 10th step fails inside onnxruntime: the error path must release too.
      if (i % 10 === 9) await expect(session.run(bad, outputs)).rejects.toThrow(OrtStatusError);
      else await session.run(inputs, outputs);
    }
    collectGarbage();
    const growth = process.memoryUsage().rss - before;
    expect(growth).toBeLessThan(50 * 1024 * 1024);
  } finally {
    Object.assign(api, originals);
  }
  const perStep = Object.keys(inputs).length + Object.keys(outputs).length;
  expect(counts).toEqual({ values: 2000 * perStep, valuesReleased: 2000 * perStep, statuses: 200, statusesReleased: 200 });
  expectBitIdentical(outputs.logits.data, first);
});

test('release is idempotent, waits for a run in flight, and later runs reject', async () => {
  const session = await OrtDirectSession.create(modelPaths.get('plain')!, {});
  const emptyPast = Object.fromEntries(kvNames('past_key_values').map((n) => [n, float32([1, KV_HEADS, 0, HEAD_DIM])]));
  const inputs = stepInputs(session, [PROMPTS[1]], 0, emptyPast);
  const outputs = { logits: float32([1, 5, VOCAB]) };
  const running = session.run(inputs, outputs);
  session.release();
  expect(session.released).toBe(true);
  await running;
  session.release();
  await expect(session.run(inputs, outputs)).rejects.toThrow(/released/);
  expect(OrtDirectSession.version()).toBe('1.30.0');
});

test('a graph that cannot load rejects with onnxruntime\'s message', async () => {
  await expect(OrtDirectSession.create('/nonexistent/model.onnx', {})).rejects.toThrow(/nonexistent\/model\.onnx/);
  await expect(OrtDirectSession.create(modelPaths.get('plain')!, { threads: -1 })).rejects.toThrow(/threads/);
});

test('the binding loads again in a fresh module registry (koffi types are process-wide: prototypes stay anonymous)', () => {
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const again = require('../../src/runtime/direct/ortSession') as typeof import('../../src/runtime/direct/ortSession');
    expect(again.directRuntimeAvailable()).toEqual({ ok: true, version: '1.30.0' });
  });
});
