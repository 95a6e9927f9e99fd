/**
 * `-m org/name` against a loopback hub: downloads go through transformers.js into its file cache, a second run
 * with offline set uses only the cache, and 404s / dropped connections give clear errors and leave no file behind.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../src/errors';
import { DtypeName } from '../../src/dtypeFiles';
import { DownloadProgress } from '../../src/model/hub/downloadEvents';
import { DEFAULT_MODEL_ID, resolveModelSource } from '../../src/model/modelSource';
import { validateModelFolder } from '../../src/model/validateModel';
import { buildTinyModel } from '../../src/tinymodel';
import { HubServer } from '../helpers/hubServer';
import { tempDir } from '../helpers/testModels';

const MODEL_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data'];

/** transformers.js's published file names per dtype (written out here, not taken from src/model/dtype.ts). */
const EXPECTED_FILE: Record<string, string> = {
  fp32: 'onnx/model.onnx', fp16: 'onnx/model_fp16.onnx', q8: 'onnx/model_quantized.onnx', int8: 'onnx/model_int8.onnx',
  uint8: 'onnx/model_uint8.onnx', q4: 'onnx/model_q4.onnx', q4f16: 'onnx/model_q4f16.onnx', bnb4: 'onnx/model_bnb4.onnx',
};

let work: string;
let source: string;
let hub: HubServer;

beforeAll(async () => {
  work = tempDir('hub');
  source = path.join(work, 'source');
  // weights above 1 kB go to onnx/model.onnx_data, as in the large real exports
  await buildTinyModel(source, { externalDataThresholdBytes: 1000 });
  hub = await HubServer.start();
});

afterAll(async () => {
  await hub.stop();
});

/**
 * A two-word tokenizer: transformers.js builds a tokenizer from whatever it downloads, and building the real
 * Qwen3 one takes seconds; tests that are not about the tokenizer's content serve this one.
 */
const SMALL_TOKENIZER = {
  'tokenizer.json': { version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: { a: 0, '<unk>': 1 }, unk_token: '<unk>' } },
  'tokenizer_config.json': { tokenizer_class: 'PreTrainedTokenizer' },
};

let repoCount = 0;
/** A fresh repository id per test (transformers.js memoizes some probes per id for the process lifetime). */
function repo(prefix: string, files: Record<string, string | null> = {}, realTokenizer = false): { id: string; dir: string } {
  repoCount += 1;
  const id = `org/${prefix}-${repoCount}`;
  const dir = path.join(work, 'repos', `${prefix}-${repoCount}`);
  fs.cpSync(source, dir, { recursive: true });
  if (!realTokenizer) {
    for (const [file, json] of Object.entries(SMALL_TOKENIZER)) fs.writeFileSync(path.join(dir, file), JSON.stringify(json));
  }
  for (const [file, from] of Object.entries(files)) {
    if (from === null) fs.rmSync(path.join(dir, file));
    else fs.copyFileSync(path.join(dir, from), path.join(dir, file));
  }
  hub.serve(id, dir);
  return { id, dir };
}

function freshCache(): string {
  return fs.mkdtempSync(path.join(work, 'cache-'));
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((file) => file.split(path.sep).join('/'))
    .filter((file) => fs.statSync(path.join(dir, file)).isFile())
    .sort();
}

async function expectUserError(promise: Promise<unknown>, ...fragments: (string | RegExp)[]): Promise<UserError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a UserError');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  for (const fragment of fragments) expect((error as UserError).message).toMatch(fragment);
  return error as UserError;
}

describe('hub download', () => {
  test('downloads every file into the cache folder, then serves later runs from the cache (offline: no request)', async () => {
    const { id, dir } = repo('tiny', {}, true);
    const cacheDir = freshCache();
    const events: DownloadProgress[] = [];
    const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir, onProgress: (event) => events.push(event) });

    expect(result).toEqual({
      dir: path.join(cacheDir, 'org', id.split('/')[1]),
      onnxFile: 'onnx/model.onnx',
      dtype: 'fp32',
      dtypeReason: expect.stringContaining('fp32'),
      origin: 'hub',
    });
    expect(filesUnder(result.dir)).toEqual([...MODEL_FILES].sort());
    for (const file of MODEL_FILES) {
      expect(fs.readFileSync(path.join(result.dir, file)).equals(fs.readFileSync(path.join(dir, file)))).toBe(true);
    }
    expect(hub.downloads(id).sort()).toEqual([...MODEL_FILES].sort());
    const dataBytes = fs.statSync(path.join(dir, 'onnx/model.onnx_data')).size;
    const dataProgress = events.filter((event) => event.file === 'onnx/model.onnx_data' && event.status === 'progress');
    expect(dataProgress.at(-1)).toMatchObject({ loaded: dataBytes, total: dataBytes, model: id });
    // one 'done' per downloaded file: transformers.js's re-reads of cached files are not reported as downloads
    expect(events.filter((event) => event.status === 'done').map((event) => event.file).sort()).toEqual([...MODEL_FILES].sort());
    await expect(validateModelFolder(result.dir, result.onnxFile)).resolves.toMatchObject({ modelType: 'qwen3', warnings: [] });

    const before = hub.requests.length;
    const fromCache = { ...result, dtypeReason: expect.stringContaining('from the cache') };
    const laterEvents: DownloadProgress[] = [];
    await expect(resolveModelSource(id, { hubUrl: hub.url, cacheDir, onProgress: (event) => laterEvents.push(event) })).resolves.toEqual(fromCache);
    expect(laterEvents).toEqual([]);
    await expect(resolveModelSource(id, { hubUrl: hub.url, cacheDir, offline: true })).resolves.toEqual(fromCache);
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await expect(resolveModelSource(id, { hubUrl: 'http://127.0.0.1:9', cacheDir })).resolves.toEqual(fromCache);
    } finally {
      delete process.env.HF_HUB_OFFLINE;
    }
    expect(hub.requests.length).toBe(before);
  });

  test('--dtype asks the hub for transformers.js\'s file name of each dtype', async () => {
    const variants = Object.fromEntries(Object.values(EXPECTED_FILE).filter((file) => file !== 'onnx/model.onnx').map((file) => [file, 'onnx/model.onnx']));
    const { id } = repo('variants', variants);
    const cacheDir = freshCache();
    for (const [dtype, file] of Object.entries(EXPECTED_FILE)) {
      const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir, dtype: dtype as DtypeName });
      expect(result).toMatchObject({ onnxFile: file, dtype });
      expect(hub.downloads(id)).toContain(file);
    }
    // all variants share one external data file: fetched once
    expect(hub.downloads(id).filter((file) => file === 'onnx/model.onnx_data')).toHaveLength(1);
  });

  test('auto on the hub walks the device order, skipping variants that 404, and says so', async () => {
    const { id } = repo('auto', { 'onnx/model_q4.onnx': 'onnx/model.onnx', 'onnx/model_fp16.onnx': 'onnx/model.onnx', 'onnx/model.onnx': null });
    const cacheDir = freshCache();
    const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir, dtype: 'auto', device: 'cpu' });
    expect(result).toMatchObject({ dtype: 'q4', onnxFile: 'onnx/model_q4.onnx' });
    expect(result.dtypeReason).toMatch(/picked q4/);
    expect(result.dtypeReason).toMatch(/onnx\/model\.onnx, onnx\/model_quantized\.onnx, onnx\/model_int8\.onnx, onnx\/model_uint8\.onnx are not on the hub/);
    const graphRequests = hub.downloads(id).filter((file) => file.endsWith('.onnx'));
    expect(graphRequests).toEqual(['onnx/model.onnx', 'onnx/model_quantized.onnx', 'onnx/model_int8.onnx', 'onnx/model_uint8.onnx', 'onnx/model_q4.onnx']);

    // a later auto run takes what is cached instead of probing again
    const requests = hub.requests.length;
    await expect(resolveModelSource(id, { hubUrl: hub.url, cacheDir })).resolves.toMatchObject({ dtype: 'q4', dtypeReason: expect.stringContaining('from the cache') });
    expect(hub.requests.length).toBe(requests);
  });

  test('auto honours transformers.js_config.dtype in config.json', async () => {
    const { id, dir } = repo('recommended', { 'onnx/model_q4f16.onnx': 'onnx/model.onnx' });
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, 'transformers.js_config': { dtype: 'q4f16' } }));
    const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache() });
    expect(result).toMatchObject({ dtype: 'q4f16', onnxFile: 'onnx/model_q4f16.onnx' });
    expect(result.dtypeReason).toMatch(/transformers\.js_config\.dtype/);
  });

  test('a non-main revision is fetched from its own URL and cached in its own folder', async () => {
    const { id, dir } = repo('revision');
    hub.serve(id, dir, 'v2');
    const cacheDir = freshCache();
    const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir, revision: 'v2' });
    expect(result.dir).toBe(path.join(cacheDir, 'org', id.split('/')[1], 'v2'));
    expect(filesUnder(result.dir)).toEqual([...MODEL_FILES].sort());
    expect(new Set(hub.requests.filter((request) => request.model === id && !request.range).map((request) => request.revision))).toEqual(new Set(['v2']));
  });
});

describe('hub errors', () => {
  test('an unknown model: config.json 404', async () => {
    const cacheDir = freshCache();
    await expectUserError(resolveModelSource('org/does-not-exist', { hubUrl: hub.url, cacheDir }), /org\/does-not-exist/, /not found: config\.json → HTTP 404/, /--revision/);
    expect(filesUnder(cacheDir)).toEqual([]);
  });

  test('a required file missing on the hub names the file and the status', async () => {
    const noTokenizer = repo('no-tokenizer', { 'tokenizer.json': null });
    await expectUserError(resolveModelSource(noTokenizer.id, { hubUrl: hub.url, cacheDir: freshCache() }), /tokenizer\.json/, /HTTP 404/);

    const noData = repo('no-data', { 'onnx/model.onnx_data': null });
    const cacheDir = freshCache();
    await expectUserError(resolveModelSource(noData.id, { hubUrl: hub.url, cacheDir }), /onnx\/model\.onnx_data/, /HTTP 404/);
    expect(filesUnder(cacheDir).filter((file) => file.includes('onnx_data'))).toEqual([]);

    const q4 = await expectUserError(resolveModelSource(noData.id, { hubUrl: hub.url, cacheDir: freshCache(), dtype: 'q4' }), /cannot download onnx\/model_q4\.onnx of/, /HTTP 404/);
    expect(q4.message).not.toMatch(/generation_config/);
  });

  test('a server error or a refused access names the status', async () => {
    const { id } = repo('status');
    hub.status.set(`${id}:onnx/model.onnx`, 503);
    await expectUserError(resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache(), dtype: 'fp32' }), /cannot download onnx\/model\.onnx of org\/status-\d+ \(revision main\) from http:\/\/127\.0\.0\.1:\d+\/: HTTP 503/);
    hub.status.set(`${id}:config.json`, 401);
    await expectUserError(resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache() }), /not found: config\.json → HTTP 401 \(a private or gated model needs HF_TOKEN\)/);
  });

  test('a config.json of another model family is refused before anything else is downloaded', async () => {
    const { id, dir } = repo('llama');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, model_type: 'llama', architectures: ['LlamaForCausalLM'] }));
    await expectUserError(resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache() }), /model_type is "llama"/);
    expect(hub.downloads(id)).toEqual(['config.json']);
  });

  test('auto when the hub has no variant at all', async () => {
    const { id } = repo('no-graph', { 'onnx/model.onnx': null });
    await expectUserError(resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache() }), /has none of onnx\/model\.onnx, onnx\/model_quantized\.onnx, .*onnx\/model_q4f16\.onnx/);
  });

  test('generation_config.json is optional', async () => {
    const { id } = repo('no-generation-config', { 'generation_config.json': null });
    const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache() });
    expect(filesUnder(result.dir)).toEqual(MODEL_FILES.filter((file) => file !== 'generation_config.json').sort());
  });

  test.each(['config.json', 'onnx/model.onnx', 'onnx/model.onnx_data'])('a connection dropped during %s: clear error, nothing partial cached, the next run completes', async (file) => {
    const { id, dir } = repo('drop');
    const cacheDir = freshCache();
    hub.drop.add(`${id}:${file}`);
    await expectUserError(resolveModelSource(id, { hubUrl: hub.url, cacheDir }), /interrupted/, new RegExp(file.replace(/\./g, '\\.')), /run again/);
    const cached = filesUnder(cacheDir);
    expect(cached.filter((name) => name.endsWith(file) || name.includes('.tmp'))).toEqual([]);
    for (const name of cached) {
      const relative = name.split('/').slice(2).join('/');
      expect(fs.readFileSync(path.join(cacheDir, name)).equals(fs.readFileSync(path.join(dir, relative)))).toBe(true);
    }

    hub.drop.delete(`${id}:${file}`);
    const result = await resolveModelSource(id, { hubUrl: hub.url, cacheDir });
    expect(fs.readFileSync(path.join(result.dir, file)).equals(fs.readFileSync(path.join(dir, file)))).toBe(true);
  });

  test('the error names only the file that failed, not variants skipped earlier', async () => {
    const { id } = repo('drop-after-auto', { 'onnx/model_q4.onnx': 'onnx/model.onnx', 'onnx/model.onnx': null });
    hub.drop.add(`${id}:onnx/model.onnx_data`);
    await expectUserError(resolveModelSource(id, { hubUrl: hub.url, cacheDir: freshCache() }), /^download of onnx\/model\.onnx_data of org\//);
  });

  test('offline with an empty cache names every missing file', async () => {
    const cacheDir = freshCache();
    const error = await expectUserError(resolveModelSource('org/never-downloaded', { cacheDir, offline: true }), /offline/, /config\.json, tokenizer\.json, tokenizer_config\.json/, /Run once without --offline/);
    expect(error.message).not.toMatch(/-m tiny/);
    await expectUserError(resolveModelSource('org/never-downloaded', { cacheDir, offline: true, dtype: 'q4' }), /onnx\/model_q4\.onnx/);
  });

  test('offline with another dtype cached lists what is cached', async () => {
    const { id } = repo('offline-dtype');
    const cacheDir = freshCache();
    await resolveModelSource(id, { hubUrl: hub.url, cacheDir });
    await expectUserError(resolveModelSource(id, { cacheDir, offline: true, dtype: 'q4' }), /missing onnx\/model_q4\.onnx/, /Cached dtype variants: fp32/);
  });

  test('the default model, unreachable or not cached, says so and suggests -m tiny', async () => {
    const closed = await HubServer.start();
    const deadUrl = closed.url;
    await closed.stop();
    await expectUserError(resolveModelSource(DEFAULT_MODEL_ID, { hubUrl: deadUrl, cacheDir: freshCache() }), /cannot reach/, /ECONNREFUSED/, /default model/, /-m tiny/);
    await expectUserError(resolveModelSource(DEFAULT_MODEL_ID, { cacheDir: freshCache(), offline: true }), /not fully in the cache/, /-m tiny/);
  });
});

describe('-m forms', () => {
  test('a path that does not exist and is not org/name', async () => {
    await expectUserError(resolveModelSource('./no/such/folder', { cacheDir: freshCache() }), /no such folder, and not a hub model id/, /org\/name/);
    await expectUserError(resolveModelSource('a/b/c', { cacheDir: freshCache() }), /not a hub model id/);
    await expectUserError(resolveModelSource('org/bad--name', { cacheDir: freshCache() }), /not a hub model id/);
  });

  test('a local folder wins over a hub id and is used in place', async () => {
    const local = path.join(work, 'local-folder');
    fs.cpSync(source, local, { recursive: true });
    const result = await resolveModelSource(local, { hubUrl: 'http://127.0.0.1:9' });
    expect(result).toMatchObject({ dir: local, onnxFile: 'onnx/model.onnx', dtype: 'fp32', origin: 'local' });
    await expectUserError(resolveModelSource(path.join(local, 'config.json')), /is a file/);
  });

  test('tiny uses the built-in model', async () => {
    const previous = process.env.QWEN_GEN_TINY_DIR;
    process.env.QWEN_GEN_TINY_DIR = path.join(work, 'tiny-cache');
    try {
      const result = await resolveModelSource('tiny');
      expect(result).toMatchObject({ dir: path.join(work, 'tiny-cache'), onnxFile: 'onnx/model.onnx', dtype: 'fp32', origin: 'tiny' });
      await expectUserError(resolveModelSource('tiny', { dtype: 'q4' }), /no onnx\/model_q4\.onnx/, /variants present: fp32 \(onnx\/model\.onnx\)/);
    } finally {
      if (previous === undefined) delete process.env.QWEN_GEN_TINY_DIR;
      else process.env.QWEN_GEN_TINY_DIR = previous;
    }
  });
});
