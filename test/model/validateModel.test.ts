/** Each refusal (and warning) of validateModelFolder, triggered by a crafted folder. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { UserError } from '../../src/errors';
import { inspectGraph } from '../../src/model/graphInfo';
import { ModelValidationError, validateModelFolder } from '../../src/model/validateModel';
import { buildTinyModel } from '../../src/tinymodel';
import { tempDir } from '../helpers/testModels';

const { DataType } = onnx.TensorProto;
const GRAPH = 'onnx/model.onnx';

let work: string;
let source: string;
let external: string;

beforeAll(async () => {
  work = tempDir('validate');
  source = path.join(work, 'source');
  external = path.join(work, 'external');
  await buildTinyModel(source);
  await buildTinyModel(external, { externalDataThresholdBytes: 1000 });
});


let count = 0;
/** A copy of the tiny model (graph included) with some files changed; `null` deletes a file. */
function crafted(changes: { config?: Record<string, unknown>; files?: Record<string, string | Uint8Array | null> } = {}, from = source): string {
  count += 1;
  const dir = path.join(work, `case-${count}`);
  fs.cpSync(from, dir, { recursive: true });
  if (changes.config) {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...changes.config }));
  }
  for (const [file, content] of Object.entries(changes.files ?? {})) {
    if (content === null) fs.rmSync(path.join(dir, file));
    else fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

interface IoSpec {
  inputs?: onnx.IValueInfoProto[];
  layers?: number;
  skip?: string[];
  logits?: boolean;
  kvType?: number;
  extraInputs?: onnx.IValueInfoProto[];
}

/** A graph with only the declared inputs and outputs of a Qwen3 export (no nodes: validation reads only I/O). */
function graphBytes(spec: IoSpec = {}): Uint8Array {
  const { layers = 2, skip = [], logits = true, kvType = DataType.FLOAT } = spec;
  const input = spec.inputs ?? [
    valueInfo('input_ids', DataType.INT64, ['batch', 'seq']),
    valueInfo('attention_mask', DataType.INT64, ['batch', 'total']),
    valueInfo('position_ids', DataType.INT64, ['batch', 'seq']),
  ];
  input.push(...(spec.extraInputs ?? []));
  const output = logits ? [valueInfo('logits', DataType.FLOAT, ['batch', 'seq', 151936])] : [];
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) {
      input.push(valueInfo(`past_key_values.${i}.${kind}`, kvType, ['batch', 2, 'past', 16]));
      output.push(valueInfo(`present.${i}.${kind}`, kvType, ['batch', 2, 'total', 16]));
    }
  }
  const keep = (info: onnx.IValueInfoProto) => !skip.includes(info.name ?? '');
  const graph = { name: 'main', node: [], input: input.filter(keep), output: output.filter(keep) };
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }).finish();
}

async function problemsOf(dir: string): Promise<string[]> {
  const error = await validateModelFolder(dir, GRAPH).then(
    () => {
      throw new Error('expected a ModelValidationError');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ModelValidationError);
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).toContain(dir);
  return (error as ModelValidationError).problems;
}

test('the builder-made tiny model passes without warnings, with or without external data', async () => {
  await expect(validateModelFolder(source, GRAPH)).resolves.toMatchObject({ modelType: 'qwen3', warnings: [], graph: { numLayers: 2 } });
  await expect(validateModelFolder(external, GRAPH)).resolves.toMatchObject({ modelType: 'qwen3', warnings: [] });
  const graph = await inspectGraph(path.join(source, GRAPH));
  await expect(validateModelFolder(source, GRAPH, graph)).resolves.toMatchObject({ graph });
});

describe('config.json', () => {
  test('another model family is refused, naming it and what is accepted', async () => {
    const problems = await problemsOf(crafted({ config: { model_type: 'llama', architectures: ['LlamaForCausalLM'] } }));
    expect(problems).toEqual(['config.json model_type is "llama": qwen-gen runs Qwen3-style causal language models (expected model_type qwen3 (qwen2, qwen3_moe accepted with a warning))']);
  });

  test('qwen2 is accepted with a warning', async () => {
    const result = await validateModelFolder(crafted({ config: { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'] } }), GRAPH);
    expect(result.warnings).toEqual([expect.stringMatching(/model_type is "qwen2", not qwen3/)]);
  });

  test('a model without a language-model head is refused', async () => {
    expect(await problemsOf(crafted({ config: { architectures: ['Qwen3Model'] } }))).toEqual([expect.stringMatching(/architectures is \["Qwen3Model"\]: expected a causal LM/)]);
  });

  test('missing model_type, missing config.json, broken config.json', async () => {
    expect(await problemsOf(crafted({ config: { model_type: undefined } }))).toEqual([expect.stringMatching(/has no model_type \(expected model_type qwen3/)]);
    expect(await problemsOf(crafted({ files: { 'config.json': null } }))).toEqual([expect.stringMatching(/^config\.json is missing \(expected a Hugging Face model folder/)]);
    expect(await problemsOf(crafted({ files: { 'config.json': '{"model_type": "qwen3",' } }))).toEqual([expect.stringMatching(/^config\.json is not valid JSON/)]);
  });

  test('a layer count different from the graph is a warning', async () => {
    const result = await validateModelFolder(crafted({ config: { num_hidden_layers: 28 } }), GRAPH);
    expect(result.warnings).toEqual(['the graph has 2 layers of past_key_values but config.json says num_hidden_layers 28: the graph is used as it is']);
  });
});

describe('files', () => {
  test('missing tokenizer files are named', async () => {
    expect(await problemsOf(crafted({ files: { 'tokenizer.json': null } }))).toEqual([expect.stringMatching(/^tokenizer\.json is missing/)]);
    expect(await problemsOf(crafted({ files: { 'tokenizer.json': null, 'tokenizer_config.json': null } }))).toHaveLength(2);
  });

  test('a missing graph, an unreadable graph, missing external data', async () => {
    expect(await problemsOf(crafted({ files: { [GRAPH]: null } }))).toEqual(['onnx/model.onnx is missing (expected the ONNX decoder graph there)']);
    expect(await problemsOf(crafted({ files: { [GRAPH]: 'not a protobuf' } }))).toEqual([expect.stringMatching(/^onnx\/model\.onnx is not a readable ONNX model/)]);
    expect(await problemsOf(crafted({ files: { 'onnx/model.onnx_data': null } }, external))).toEqual([
      'onnx/model.onnx keeps weights in external data model.onnx_data, which is not in onnx/',
    ]);
  });
});

describe('graph inputs and outputs', () => {
  test('a graph exported without a KV cache', async () => {
    const problems = await problemsOf(crafted({ files: { [GRAPH]: graphBytes({ layers: 0 }) } }));
    expect(problems).toEqual([
      expect.stringMatching(/has no past_key_values\.\{i\}\.key\/value inputs: the runner needs a graph exported with a KV cache/),
      expect.stringMatching(/has no present\.\{i\}\.key\/value outputs/),
    ]);
  });

  test('no input_ids, no logits', async () => {
    const noIds = graphBytes({ inputs: [valueInfo('inputs_embeds', DataType.FLOAT, ['batch', 'seq', 32])] });
    const problems = await problemsOf(crafted({ files: { [GRAPH]: noIds } }));
    expect(problems).toEqual([
      expect.stringMatching(/has no input_ids input \(a decoder graph takes inputs input_ids/),
      expect.stringMatching(/has inputs the runner cannot feed: inputs_embeds/),
    ]);
    expect(await problemsOf(crafted({ files: { [GRAPH]: graphBytes({ logits: false }) } }))).toEqual([
      expect.stringMatching(/has no logits output \(outputs are present\.0\.key, .*; expected logits and present/),
    ]);
  });

  test('an input the runner cannot feed, and int32 ids', async () => {
    const extra = graphBytes({ extraInputs: [valueInfo('cache_position', DataType.INT64, ['seq'])] });
    expect(await problemsOf(crafted({ files: { [GRAPH]: extra } }))).toEqual([expect.stringMatching(/cannot feed: cache_position \(it feeds input_ids/)]);
    const int32 = graphBytes({ inputs: [valueInfo('input_ids', DataType.INT32, ['batch', 'seq'])] });
    expect(await problemsOf(crafted({ files: { [GRAPH]: int32 } }))).toEqual(['onnx/model.onnx input input_ids is int32; the runner feeds int64']);
  });

  test('a layer missing its value, and layers out of step', async () => {
    const unpaired = graphBytes({ skip: ['past_key_values.1.value', 'present.1.value'] });
    expect(await problemsOf(crafted({ files: { [GRAPH]: unpaired } }))).toEqual([
      'onnx/model.onnx lacks past_key_values.1.value (expected a key and a value per layer)',
      'onnx/model.onnx lacks present.1.value (expected a key and a value per layer)',
    ]);
    const gap = graphBytes({ layers: 3, skip: ['past_key_values.1.key', 'past_key_values.1.value', 'present.1.key', 'present.1.value'] });
    expect(await problemsOf(crafted({ files: { [GRAPH]: gap } }))).toEqual([
      'onnx/model.onnx past_key_values layers are 0,2 (expected 0..1 without gaps)',
      'onnx/model.onnx present layers are 0,2 (expected 0..1 without gaps)',
    ]);
    const mismatch = graphBytes({ layers: 2, skip: ['present.1.key', 'present.1.value'] });
    expect(await problemsOf(crafted({ files: { [GRAPH]: mismatch } }))).toEqual([
      'onnx/model.onnx has past_key_values for layers 0,1 but present for layers 0 (expected the same layers)',
    ]);
  });

  test('a KV cache of an unsupported type', async () => {
    expect(await problemsOf(crafted({ files: { [GRAPH]: graphBytes({ kvType: DataType.BFLOAT16 }) } }))).toEqual([
      'onnx/model.onnx has KV tensors of type bfloat16 (past_key_values.0.key); expected float32 or float16',
    ]);
  });

  test('several problems are listed together', async () => {
    const dir = crafted({ config: { model_type: 'bert' }, files: { 'tokenizer.json': null, [GRAPH]: graphBytes({ layers: 0 }) } });
    const error = (await validateModelFolder(dir, GRAPH).then(
      () => undefined,
      (caught: unknown) => caught,
    )) as ModelValidationError;
    expect(error.problems).toHaveLength(4);
    expect(error.message).toMatch(/cannot be used:\n  - config\.json model_type is "bert"/);
  });
});
