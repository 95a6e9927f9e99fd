/** --dtype selection on folders holding several variants, and --device availability / session failures. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../../src/errors';
import { assertDeviceAvailable, DeviceProbe, executionProvidersFor, probeDevices, sessionCreationError } from '../../src/runtime/device';
import { listDtypeVariants, parseDtype, selectLocalDtype } from '../../src/model/dtype';
import { resolveModelSource } from '../../src/model/modelSource';
import { buildTinyModel } from '../../src/tinymodel';
import { tempDir } from '../helpers/testModels';

let work: string;
let source: string;

beforeAll(async () => {
  work = tempDir('dtype');
  source = path.join(work, 'source');
  await buildTinyModel(source);
});


let folderCount = 0;
/** A copy of the tiny model whose onnx/ holds the same graph under each of `names` (and nothing else). */
function folderWith(names: string[], config: Record<string, unknown> = {}): string {
  folderCount += 1;
  const dir = path.join(work, `variants-${folderCount}`);
  fs.cpSync(source, dir, { recursive: true });
  const graph = fs.readFileSync(path.join(source, 'onnx/model.onnx'));
  fs.rmSync(path.join(dir, 'onnx'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'onnx'));
  for (const name of names) fs.writeFileSync(path.join(dir, 'onnx', name), graph);
  const base = JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...base, ...config }));
  return dir;
}

function userErrorOf(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('expected a UserError');
}

describe('dtype', () => {
  test('each explicit dtype maps to its transformers.js file name', () => {
    const names = ['model.onnx', 'model_fp16.onnx', 'model_quantized.onnx', 'model_int8.onnx', 'model_uint8.onnx', 'model_q4.onnx', 'model_q4f16.onnx', 'model_bnb4.onnx'];
    const dir = folderWith(names);
    const expected: [string, string][] = [
      ['fp32', 'model.onnx'], ['fp16', 'model_fp16.onnx'], ['q8', 'model_quantized.onnx'], ['int8', 'model_int8.onnx'],
      ['uint8', 'model_uint8.onnx'], ['q4', 'model_q4.onnx'], ['q4f16', 'model_q4f16.onnx'], ['bnb4', 'model_bnb4.onnx'],
    ];
    for (const [dtype, file] of expected) {
      expect(selectLocalDtype(dir, parseDtype(dtype), 'cpu')).toMatchObject({ dtype, onnxFile: `onnx/${file}` });
    }
    expect(listDtypeVariants(dir)).toHaveLength(8);
  });

  test('a missing variant lists the variants present and unrecognised graphs', () => {
    const dir = folderWith(['model_q4.onnx', 'model_fp16.onnx', 'model_custom.onnx']);
    const error = userErrorOf(() => selectLocalDtype(dir, 'fp32', 'cpu'));
    expect(error.message).toMatch(/has no onnx\/model\.onnx for --dtype fp32/);
    expect(error.message).toMatch(/variants present: fp16 \(onnx\/model_fp16\.onnx\), q4 \(onnx\/model_q4\.onnx\)/);
    expect(error.message).toMatch(/other \.onnx files \(not a known dtype name\): onnx\/model_custom\.onnx/);

    const empty = folderWith(['decoder_model_merged.onnx']);
    expect(userErrorOf(() => selectLocalDtype(empty, 'auto', 'cpu')).message).toMatch(/no onnx\/model\{suffix\}\.onnx file is present.*decoder_model_merged\.onnx/);
  });

  test.each([
    ['cpu', ['model.onnx', 'model_q4.onnx', 'model_fp16.onnx'], 'fp32'],
    ['cpu', ['model_q4.onnx', 'model_fp16.onnx', 'model_q4f16.onnx'], 'q4'],
    ['cpu', ['model_uint8.onnx', 'model_q4.onnx'], 'uint8'],
    ['cpu', ['model_fp16.onnx', 'model_q4f16.onnx'], 'fp16'],
    ['cuda', ['model.onnx', 'model_q4.onnx', 'model_fp16.onnx'], 'fp16'],
    ['cuda', ['model.onnx', 'model_q4.onnx', 'model_q4f16.onnx'], 'q4f16'],
    ['cuda', ['model_int8.onnx', 'model.onnx'], 'fp32'],
  ] as const)('auto on %s with %j picks %s and says why', (device, names, expected) => {
    const choice = selectLocalDtype(folderWith([...names]), 'auto', device);
    expect(choice.dtype).toBe(expected);
    expect(choice.reason).toMatch(new RegExp(`^--dtype auto picked ${expected} \\(onnx/model[a-z0-9_]*\\.onnx\\): first available in the ${device} order`));
  });

  test("auto prefers config.json's transformers.js_config.dtype when that variant exists", () => {
    const dir = folderWith(['model.onnx', 'model_q4f16.onnx'], { 'transformers.js_config': { dtype: 'q4f16' } });
    expect(selectLocalDtype(dir, 'auto', 'cpu')).toMatchObject({ dtype: 'q4f16', reason: expect.stringMatching(/transformers\.js_config\.dtype recommends it/) });
    const absent = folderWith(['model.onnx'], { 'transformers.js_config': { dtype: 'q4f16' } });
    expect(selectLocalDtype(absent, 'auto', 'cpu').dtype).toBe('fp32');
  });

  test('resolveModelSource passes dtype and device through for a local folder', async () => {
    const dir = folderWith(['model.onnx', 'model_fp16.onnx']);
    await expect(resolveModelSource(dir, { device: 'cuda' })).resolves.toMatchObject({ dtype: 'fp16', onnxFile: 'onnx/model_fp16.onnx', origin: 'local' });
    await expect(resolveModelSource(dir, { dtype: 'fp32', device: 'cuda' })).resolves.toMatchObject({ dtype: 'fp32', dtypeReason: '--dtype fp32 (onnx/model.onnx)' });
  });

  test('parseDtype accepts the names and auto, and lists them on a typo', () => {
    expect(parseDtype('Q4F16')).toBe('q4f16');
    expect(parseDtype('auto')).toBe('auto');
    expect(userErrorOf(() => parseDtype('int4')).message).toBe('--dtype "int4" is not a known dtype; expected one of: auto, fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4');
  });
});

describe('device', () => {
  const bindingDir = () => fs.mkdtempSync(path.join(work, 'binding-'));
  const probe = (names: string[], dir: string): DeviceProbe => ({ backends: names.map((name) => ({ name, bundled: name === 'cpu' })), bindingDir: dir, platform: 'linux' });

  test('cpu is always available', () => {
    expect(() => assertDeviceAvailable('cpu', probe(['cpu'], bindingDir()))).not.toThrow();
    expect(executionProvidersFor('cpu')).toEqual(['cpu']);
    expect(executionProvidersFor('cuda')).toEqual(['cuda', 'cpu']);
  });

  test('cuda: no provider in the build, provider libraries not installed, libraries present', () => {
    expect(userErrorOf(() => assertDeviceAvailable('cuda', probe(['cpu'], bindingDir()))).message).toMatch(/no CUDA execution provider.*offers: cpu.*--device cpu/);
    const dir = bindingDir();
    const missing = userErrorOf(() => assertDeviceAvailable('cuda', probe(['cpu', 'cuda'], dir))).message;
    expect(missing).toMatch(/missing libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so/);
    expect(missing).toMatch(/--onnxruntime-node-install=cuda12/);
    for (const file of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) fs.writeFileSync(path.join(dir, file), '');
    expect(() => assertDeviceAvailable('cuda', probe(['cpu', 'cuda'], dir))).not.toThrow();
  });

  test('this machine has no CUDA provider libraries: asking for cuda is a UserError', () => {
    // the machines this project runs on have no GPU and install onnxruntime-node without its CUDA libraries
    expect(probeDevices().backends.map((backend) => backend.name)).toContain('cpu');
    expect(userErrorOf(() => assertDeviceAvailable('cuda')).message).toMatch(/--device cuda is not available/);
  });

  test('a CUDA session that fails to create becomes a UserError naming the device and the way out', async () => {
    const onnxPath = path.join(source, 'onnx/model.onnx');
    const failure = await ort.InferenceSession.create(onnxPath, { executionProviders: executionProvidersFor('cuda') }).then(
      async (session) => {
        await session.release();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(failure).toBeDefined(); // no CUDA here (see above)
    const error = sessionCreationError('cuda', onnxPath, failure);
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(new RegExp(`could not create a CUDA session for ${onnxPath.replace(/[.]/g, '\\.')}: \\S`));
    expect(error.message).toMatch(/--device cpu/);
    expect(error.message).not.toMatch(/\u001b\[/);
  });
});
