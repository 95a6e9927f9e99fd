import { loadModel, LoadedModel } from '../../src/engine/loadModel';
import { BatchRows } from '../../src/padding/batchRows';
import { KvCache } from '../../src/runtime/kvCache';
import { buildTestModel } from '../helpers/testModels';

const models = new Map<string, LoadedModel>();

beforeAll(async () => {
  for (const attention of ['plain', 'gqa'] as const) {
    const dir = await buildTestModel(`retained-${attention}`, { attention, seed: 5 });
    models.set(attention, await loadModel(dir, { runtime: 'direct' }));
  }
});

afterAll(async () => {
  for (const model of models.values()) await model.runner.release();
});

const PROMPT = Array.from({ length: 24 }, (_, i) => 100 + i * 7);
const OTHER = Array.from({ length: 24 }, (_, i) => 900 + i * 3);

/** Gathers a copy of `prefix`, then works the runtime hard: steps on the copy, a rebuild, new prefills of the same size. */
async function useCopy(model: LoadedModel, prefix: KvCache, retained?: ReadonlySet<KvCache>): Promise<KvCache> {
  const { runner, protocol, batchRunner } = model;
  const slots = Array.from({ length: prefix.length }, (_, j) => j);
  const copy = runner.gather(prefix.length, [{ cache: prefix, row: 0, slots }], retained);
  let rows: BatchRows = protocol.rowsOf(copy, [prefix.length], prefix.length);
  for (let i = 0; i < 3; i++) rows = (await batchRunner.decode(rows, [5 + i])).rows;
  for (let i = 0; i < 3; i++) {
    const fresh = (await batchRunner.prefill([OTHER, OTHER])).rows;
    rows = batchRunner.rebuild([{ rows, keep: [0] }, { rows: fresh, keep: [0, 1] }])!;
  }
  return copy;
}

test.each(['plain', 'gqa'])('%s: a retained gather source is never pooled, overwritten or used in place', async (attention) => {
  const model = models.get(attention)!;
  const prefix = (await model.batchRunner.prefill([PROMPT])).rows.cache;
  const snapshot = prefix.keys.map((k) => k.slice()).concat(prefix.values.map((v) => v.slice()));
  const same = () => prefix.keys.concat(prefix.values).every((data, i) => data.every((x, j) => Object.is(x, snapshot[i][j])));

  const copy = await useCopy(model, prefix, new Set([prefix]));
  expect(copy.keys[0]).not.toBe(prefix.keys[0]);
  expect(same()).toBe(true);
  // A second copy still reads the intact prefix.
  await useCopy(model, prefix, new Set([prefix]));
  expect(same()).toBe(true);

  // Negative control: the same work without `retained` consumes the prefix (its memory is reused or written into).
  const consumed = await useCopy(model, prefix);
  expect(consumed.keys[0] === prefix.keys[0] || !same()).toBe(true);
});
