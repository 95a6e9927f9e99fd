import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { DirectRunner } from '../../src/runtime/direct/directRunner';
import { RunAddresses } from '../../src/runtime/direct/ortSession';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedyTokens } from '../helpers/greedyRun';
import { RAW_PROMPTS } from '../helpers/prompts';
import { buildTestModel } from '../helpers/testModels';

// A step of the direct runtime: where onnxruntime reads and writes the KV cache, and one step at a time.
//
// "In place" on a GroupQueryAttention graph means onnxruntime reads a step's past and writes its present in the same
// memory. Checked where it happens: the data address of the OrtValue onnxruntime was given for `past_key_values.i.*` and
// for `present.i.*` in a decode step of a real run. On a plain graph (two buffers alternate) they differ: the control.
const models = new Map<string, LoadedModel>();

beforeAll(async () => {
  for (const attention of ['plain', 'gqa'] as const) {
    for (const kvDtype of ['float32', 'float16'] as const) {
      const dir = await buildTestModel(`in-place-${attention}-${kvDtype}`, { attention, kvDtype, seed: 4 });
      models.set(`${attention}/${kvDtype}`, await loadModel(dir, { runtime: 'direct' }));
    }
  }
});

afterAll(async () => {
  for (const model of models.values()) await model.runner.release();
});

/** The addresses of the last step of a greedy run of two prompts for 6 tokens (that step is a decode step). */
async function lastDecodeStep(model: LoadedModel): Promise<RunAddresses> {
  expect(model.runner).toBeInstanceOf(DirectRunner);
  const session = (model.runner as DirectRunner).directSession;
  const prompts = RAW_PROMPTS.slice(0, 2).map((prompt) => encodePrompt(model.tokenizer, { prompt }, { enableThinking: true }));
  session.recordAddresses = true;
  try {
    const tokens = await greedyTokens(model, prompts, { batchSize: 2, maxTokens: 6, ignoreEos: true });
    expect(tokens.map((t) => t.length)).toEqual([6, 6]);
  } finally {
    session.recordAddresses = false;
  }
  const addresses = session.lastRunAddresses!;
  expect(Number(addresses.inputs.input_ids)).not.toBe(0);
  return addresses;
}

const layersOf = (model: LoadedModel) => Array.from({ length: model.runner.kvShape.layers }, (_, i) => i);

test.each(['float32', 'float16'])('GroupQueryAttention (%s KV): a decode step reads past_key_values.* and writes present.* in the same memory', async (kvDtype) => {
  const model = models.get(`gqa/${kvDtype}`)!;
  expect(model.runner.runtime.kvHandling).toMatch(/^in place/);
  const { inputs, outputs } = await lastDecodeStep(model);
  for (const i of layersOf(model)) {
    for (const kind of ['key', 'value']) {
      expect(inputs[`past_key_values.${i}.${kind}`]).not.toBe(0n); // a real past (a decode step), not an empty prefill one
      expect(outputs[`present.${i}.${kind}`]).toBe(inputs[`past_key_values.${i}.${kind}`]);
    }
  }
  // Keys and values, and layers, each have their own memory.
  expect(new Set(Object.values(outputs)).size).toBe(Object.keys(outputs).length);
});

test.each(['float32', 'float16'])('negative control — plain graph (%s KV): past_key_values.* and present.* are different memory', async (kvDtype) => {
  const model = models.get(`plain/${kvDtype}`)!;
  expect(model.runner.runtime.kvHandling).toMatch(/alternate/);
  const { inputs, outputs } = await lastDecodeStep(model);
  for (const i of layersOf(model)) {
    for (const kind of ['key', 'value']) {
      expect(inputs[`past_key_values.${i}.${kind}`]).not.toBe(0n);
      expect(outputs[`present.${i}.${kind}`]).not.toBe(inputs[`past_key_values.${i}.${kind}`]);
    }
  }
});

test.each(['plain', 'gqa'])('%s: a second step while one is in flight is refused (they share one logits buffer); the first is unharmed', async (attention) => {
  const model = models.get(`${attention}/float32`)!;
  const { runner, protocol } = model;
  const prompt = Array.from({ length: 12 }, (_, i) => 100 + i * 7);
  const other = Array.from({ length: 12 }, (_, i) => 900 + i * 3);
  const column = protocol.prefill([prompt]).logitColumns[0];
  // Reference: the prompt's logits from a step on its own.
  const reference = (await runner.step(protocol.prefill([prompt]))).logits.row(0, column).slice();

  const first = runner.step(protocol.prefill([prompt]));
  await expect(runner.step(protocol.prefill([other]))).rejects.toThrow('DirectRunner.step: a step is already in flight (steps share one logits buffer); await it before the next');
  const result = await first;
  expect(Array.from(result.logits.row(0, column))).toEqual(Array.from(reference));
  // Control: the same two steps one after the other both run (the guard refuses only overlap), and the other prompt's
  // logits differ from the first's (so the comparison above can tell a buffer overwritten by the second step).
  const otherLogits = (await runner.step(protocol.prefill([other]))).logits.row(0, column).slice();
  expect(Array.from(otherLogits)).not.toEqual(Array.from(reference));
  expect(Array.from((await runner.step(protocol.prefill([prompt]))).logits.row(0, column))).toEqual(Array.from(reference));
});
