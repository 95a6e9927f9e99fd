import { generate, GenerateOptions, GenerationRecord, inspect } from '../../src/api';
import { GENERATE_OPTION_NAMES } from '../../src/api/apiOptions';
import { buildTestModel } from '../helpers/testModels';

// The programmatic API checks its options like the CLI checks its flags, takes the same run-wide parameters, and speaks
// in its own terms (never `-m` or `--dtype`).
let modelDir: string;

beforeAll(async () => {
  modelDir = await buildTestModel('api-generate');
});

const REQUESTS = [
  { id: 'a', prompt: 'Hello', ignore_eos: true },
  { id: 'b', messages: [{ role: 'user', content: 'Hi' }], ignore_eos: true },
];

async function collect(options: GenerateOptions, requests: Record<string, unknown>[] = REQUESTS): Promise<GenerationRecord[]> {
  const records: GenerationRecord[] = [];
  for await (const record of generate(requests, options)) records.push(record);
  return records.sort((x, y) => String(x.id).localeCompare(String(y.id)));
}

async function failure(options: object): Promise<string> {
  try {
    await collect(options as GenerateOptions);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected generate() to throw');
}

const completionTokens = (records: GenerationRecord[]) => records.map((r) => (r.usage as { completion_tokens: number }).completion_tokens);

test('max_tokens at the top level of the options is the run-wide max_tokens, the same as defaults.max_tokens', async () => {
  const topLevel = await collect({ model: modelDir, greedy: true, max_tokens: 3 });
  expect(completionTokens(topLevel)).toEqual([3, 3]);
  expect(await collect({ model: modelDir, greedy: true, defaults: { max_tokens: 3 } })).toEqual(topLevel);
  // Negative control: another value changes the run (the option is not ignored).
  expect(completionTokens(await collect({ model: modelDir, greedy: true, max_tokens: 5 }))).toEqual([5, 5]);
  expect(await failure({ model: modelDir, max_tokens: 3, defaults: { max_tokens: 4 } })).toBe(
    'generate(): max_tokens is given twice, at the top level and in defaults; keep one',
  );
  expect(await failure({ model: modelDir, max_tokens: 0 })).toBe('generate(): max_tokens must be an integer ≥ 1, got 0');
});

test('an unknown option is an error naming it and the closest known one; a typo in defaults too', async () => {
  expect(await failure({ model: modelDir, batchsize: 3 })).toBe('generate(): unknown option "batchsize"; did you mean "batchSize"?');
  expect(await failure({ model: modelDir, maxTokens: 3 })).toBe('generate(): unknown option "maxTokens"; did you mean "max_tokens"?');
  expect(await failure({ model: modelDir, defaults: { temprature: 0 } })).toBe(
    'generate(): defaults.temprature is not a generation parameter; did you mean "temperature"?',
  );
  expect(await failure({ model: modelDir, defaults: { n: 2 } })).toBe('generate(): defaults.n has no run-wide value (as on the CLI): give "n" in each request that needs it');
  expect(await failure({ model: modelDir, logprobs: 2 })).toMatch(/logprobs has no run-wide value/);
  expect(await failure({ model: modelDir, batchSize: 0 })).toBe('generate(): batchSize must be a positive integer, got 0');
  expect(await failure({ model: modelDir, device: 'gpu' })).toBe('generate(): device must be one of "cpu", "cuda", got "gpu"');
  expect(await failure({ model: modelDir, ignoreFindings: ['pad_is_eoss'] })).toBe('generate(): ignoreFindings: unknown finding code "pad_is_eoss"; did you mean "pad_is_eos"?');
});

test('errors from the pipeline speak in API terms: the model option, dtype, not -m or --dtype', async () => {
  const noModel = await failure({ model: './no/such/model' });
  expect(noModel).toContain('model "./no/such/model": no such folder, and not a hub model id');
  expect(noModel).toContain("use model: 'tiny' for the built-in offline model");
  expect(noModel).not.toMatch(/(^|\s)-m\b/);
  const dtype = await failure({ model: modelDir, dtype: 'q3' });
  expect(dtype).toContain('dtype "q3" is not a known dtype');
  expect(dtype).not.toContain('--');
  const missingVariant = await failure({ model: modelDir, dtype: 'q4' });
  expect(missingVariant).toMatch(/has no onnx\/model_q4\.onnx for dtype q4/);
  expect(missingVariant).not.toContain('--');
  await expect(inspect('./no/such/model')).rejects.toThrow(/^model "\.\/no\/such\/model": no such folder/);
  await expect(inspect(modelDir, { dtyp: 'q4' } as never)).rejects.toThrow('inspect(): unknown option "dtyp"; did you mean "dtype"?');
});

test("GENERATE_OPTION_NAMES lists exactly GenerateOptions' own keys (the type and the check cannot drift apart)", () => {
  // Every key of this object must be a GenerateOptions key (the compiler checks it); the list must hold all of them.
  const everyOption: Required<Omit<GenerateOptions, keyof import('../../src/api').GenerateDefaults>> = {
    model: '', dtype: '', revision: '', offline: false, hubUrl: '', batchSize: 1, maxBatchTokens: 1, maxMemory: 1, prefixCache: true,
    defaults: {}, greedy: false, escapeSpecialTokens: false, tokenIds: false, echoParams: false, format: 'auto', ordered: false,
    keepFields: false, threads: 1, device: 'cpu', runtime: 'auto', signal: new AbortController().signal, onLog: () => {}, onReport: () => {},
    failOn: 'error', ignoreFindings: [],
  };
  expect([...GENERATE_OPTION_NAMES].sort()).toEqual(Object.keys(everyOption).sort());
});
