import { runGeneration } from '../../src/engine/generationEngine';
import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { FinishedSequence } from '../../src/engine/sequence';
import { TokenDecoder } from '../../src/output/incrementalDetokenizer';
import { SequenceOutput } from '../../src/output/sequenceOutput';
import { encodePrompt } from '../../src/tokenize/promptEncoder';
import { greedySpecs } from '../helpers/greedyRun';
import { VARIED_MESSAGES } from '../helpers/prompts';
import { buildTestModel } from '../helpers/testModels';

// Stopping in two parts: token-level (stop ids, max_tokens) in the engine for every row; text-level (stop strings) in
// output/, only for rows that have stop strings — the others decode their text once, when they finish.
let model: LoadedModel;
let prompts: number[][];

beforeAll(async () => {
  model = await loadModel(await buildTestModel('stopping', { seed: 21 }), { runtime: 'direct' });
  prompts = VARIED_MESSAGES.slice(4, 10).map((messages) => encodePrompt(model.tokenizer, { messages }, { enableThinking: false }));
});

afterAll(async () => {
  await model?.runner.release();
});

/** The tokenizer, counting its decode calls. */
function countingDecoder(): TokenDecoder & { calls: number } {
  const decoder = {
    calls: 0,
    decode: (ids: number[], options?: { skip_special_tokens?: boolean }) => {
      decoder.calls++;
      return model.tokenizer.decode(ids, options);
    },
  };
  return decoder;
}

/** Greedy run where each row has its own output (stop strings per row); returns each row's finished sequence and text. */
async function run(stopStrings: string[][], stopTokenIds: number[] = [], maxTokens = 24) {
  const decoders = prompts.map(() => countingDecoder());
  const outputs = prompts.map((_, i) => new SequenceOutput(decoders[i], { minTokens: 0, stopStrings: stopStrings[i] ?? [], includeStopStrInOutput: false }));
  const specs = greedySpecs(prompts, maxTokens, stopTokenIds).map((spec, i) => ({ ...spec, textStop: outputs[i].textStop }));
  const finished: FinishedSequence<number>[] = [];
  const decodesAtFinish: number[] = [];
  await runGeneration(model.batchRunner, specs, { batchSize: 3, maxBatchTokens: 4096 }, (sequence) => {
    finished[sequence.spec.request] = sequence;
    decodesAtFinish[sequence.spec.request] = decoders[sequence.spec.request].calls;
  });
  const texts = finished.map((sequence, i) => outputs[i].textOf(sequence));
  return { finished, texts, decoders, decodesAtFinish, outputs };
}

test('rows without stop strings are never decoded while they run; their text is their tokens decoded once', async () => {
  const { finished, texts, decodesAtFinish, decoders } = await run([]);
  expect(decodesAtFinish).toEqual(prompts.map(() => 0));
  expect(decoders.map((d) => d.calls)).toEqual(prompts.map(() => 1));
  finished.forEach((sequence, i) => {
    expect(sequence.finishReason).toBe('length');
    expect(texts[i]).toBe(model.tokenizer.decode(sequence.tokenIds, { skip_special_tokens: true }));
  });
  expect(texts.every((text) => text.length > 0)).toBe(true);
});

test('a stop string ends its row where the text reaches it, cut exactly there; the other rows are unaffected', async () => {
  const plain = await run([]);
  // A stop string taken from the middle of row 1's own text (derived from the run without stops).
  const text = plain.texts[1];
  const stop = text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 3);
  expect(stop.trim().length).toBeGreaterThan(0);
  const cut = await run([[], [stop]]);
  expect(cut.finished[1].finishReason).toBe('stop');
  expect(cut.outputs[1].stopString).toBe(stop);
  expect(cut.texts[1]).toBe(text.slice(0, text.indexOf(stop)));
  expect(cut.finished[1].tokenIds.length).toBeLessThan(plain.finished[1].tokenIds.length);
  // The watched row is decoded as it runs (the negative control of the first test's count); the others are not.
  expect(cut.decodesAtFinish[1]).toBeGreaterThan(cut.finished[1].tokenIds.length);
  expect(cut.decodesAtFinish[0]).toBe(0);
  for (const i of [0, 2, 3, 4, 5]) expect(cut.texts[i]).toBe(plain.texts[i]);
});

test('a stop token id ends its row at the token (not in the text), on its own step, whatever the other rows do', async () => {
  const plain = await run([]);
  const token = plain.finished[2].tokenIds[5];
  const stopped = await run([], [token]);
  for (const [i, sequence] of stopped.finished.entries()) {
    const at = plain.finished[i].tokenIds.indexOf(token);
    if (at < 0) {
      expect(sequence.tokenIds).toEqual(plain.finished[i].tokenIds);
      continue;
    }
    expect(sequence).toMatchObject({ finishReason: 'stop', stopTokenId: token, tokenIds: plain.finished[i].tokenIds.slice(0, at + 1) });
    expect(stopped.texts[i]).toBe(model.tokenizer.decode(plain.finished[i].tokenIds.slice(0, at), { skip_special_tokens: true }));
  }
  expect(stopped.finished[2].tokenIds).toHaveLength(6);
});
