import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeShardOutputs } from '../../src/merge/mergeOutputs';
import { MergeResult } from '../../src/merge/mergeResult';
import { writeMergedOutput } from '../../src/merge/writeMerged';
import { shardOf } from '../../src/shard/assignShard';
import { writeShards } from '../helpers/shardFiles';
import { tempDir } from '../helpers/testModels';

let dir: string;
beforeEach(() => {
  dir = tempDir('merge');
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function result(id: string | number, index: number, settings = 'fp-A'): string {
  return JSON.stringify({
    id,
    index,
    text: `answer ${index} — 答え`,
    finish_reason: 'stop',
    usage: { prompt_tokens: 3, completion_tokens: 5 },
    settings,
  });
}

function errorRecord(id: string | number | null, index: number, code = 'invalid_json'): string {
  return JSON.stringify({ id, index, error: { code, message: `bad line ${index}`, line: index + 1 }, settings: 'fp-A' });
}

async function mergedText(merge: MergeResult): Promise<string> {
  const chunks: Buffer[] = [];
  await writeMergedOutput(merge, async (chunk) => void chunks.push(Buffer.from(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Input ids by the engine's rule: `id`, else `custom_id`, else the 1-based line number; a line that is
 * not JSON has no id (its error record says `"id": null`); blank lines take no index.
 * Here: "a"→0, 2→1, "c1"→2, null→3, 7→4, "z"→5.
 */
const INPUT = [
  '{"id":"a","prompt":"x"}',
  '{"prompt":"no id: line 2"}',
  '',
  '{"custom_id":"c1","method":"POST","url":"/v1/chat/completions","body":{}}',
  '{not json',
  '{"id":7,"prompt":"z"}',
  '{"id":"z","messages":[{"role":"user","content":"hi"}]}',
].join('\r\n');
const EXPECTED: Array<[string | number | null, number]> = [
  ['a', 0],
  [2, 1],
  ['c1', 2],
  [null, 3],
  [7, 4],
  ['z', 5],
];
const UNSHARDED = EXPECTED.map(([id, index]) => (id === null ? errorRecord(id, index) : result(id, index)));

/** Each shard writes its own requests in completion order (here: reversed), as the engine would. */
function writeShardFiles(count: number, lines = UNSHARDED, ids = EXPECTED): string[] {
  const own = (k: number) => lines.filter((_, i) => shardOf(ids[i][0] ?? `#${ids[i][1]}`, count) === k).reverse();
  return writeShards(dir, Object.fromEntries(Array.from({ length: count }, (_, k) => [`shard-${k}.jsonl`, own(k)])));
}

describe('mergeShardOutputs', () => {
  it.each([1, 2, 3, 7])('merging %i shards gives the unsharded output, ordered by index', async (count) => {
    const input = file('prompts.jsonl', INPUT);
    const merge = await mergeShardOutputs(writeShardFiles(count), { inputFile: input });
    expect(await mergedText(merge)).toBe(UNSHARDED.map((line) => `${line}\n`).join(''));
    expect(merge.expectedCount).toBe(6);
    expect(merge.missing).toEqual([]);
    expect(merge.duplicates).toEqual([]);
    expect(merge.notInInput).toEqual([]);
    expect(merge.shards.reduce((sum, shard) => sum + shard.lines, 0)).toBe(6);
    // line 5 of the input was not JSON: the engine's error record for it is reported, so not complete
    expect(merge.errorRecords).toEqual([expect.objectContaining({ id: null, index: 3, code: 'invalid_json', message: 'bad line 3' })]);
    expect(merge.complete).toBe(false);
  });

  it('is complete when every id has a result', async () => {
    const valid = file('valid.jsonl', INPUT.replace('{not json', '{"id":"d","prompt":"fixed"}'));
    const ids: Array<[string | number, number]> = EXPECTED.map(([id, index]) => [id ?? 'd', index]);
    const merge = await mergeShardOutputs(
      writeShardFiles(3, ids.map(([id, index]) => result(id, index)), ids),
      { inputFile: valid },
    );
    expect(merge.complete).toBe(true);
    expect(merge.settings).toEqual([{ fingerprint: 'fp-A', lines: 6, files: expect.any(Array) }]);
  });

  it('lists the ids of a missing shard in input order', async () => {
    const shards = writeShardFiles(2);
    const dropped = EXPECTED.filter(([id, index]) => shardOf(id ?? `#${index}`, 2) === 1);
    expect(dropped.length).toBeGreaterThan(0);
    const merge = await mergeShardOutputs([shards[0]], { inputFile: file('prompts.jsonl', INPUT) });
    const inputLineOfIndex = [1, 2, 4, 5, 6, 7];
    expect(merge.missing).toEqual(dropped.map(([id, index]) => ({ id, index, inputLine: inputLineOfIndex[index] })));
    expect(merge.complete).toBe(false);
    expect(merge.orderedLines).toHaveLength(6 - dropped.length);
  });

  it('without --input it cannot see missing ids, but still orders and checks the rest', async () => {
    const shards = writeShardFiles(2, EXPECTED.map(([id, index]) => result(id ?? 'd', index)));
    const merge = await mergeShardOutputs([shards[0]]);
    expect(merge.expectedCount).toBeNull();
    expect(merge.missing).toEqual([]);
    expect(merge.complete).toBe(true);
    const indexes = (await mergedText(merge)).trim().split('\n').map((line) => JSON.parse(line).index);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  it('reports an id written twice and keeps one copy, preferring a result over an error record', async () => {
    const first = file('s0.jsonl', `${result('a', 0)}\n${errorRecord('b', 1, 'onnx_run_failed')}\n`);
    const otherA = result('a', 0).replace('answer 0', 'another answer 0');
    const second = file('s1.jsonl', `${result('b', 1)}\n${otherA}\n`);
    const merge = await mergeShardOutputs([first, second]);
    expect(merge.duplicates).toEqual([
      {
        id: 'a',
        index: 0,
        occurrences: [
          { file: first, line: 1, kept: true, error: false },
          { file: second, line: 2, kept: false, error: false },
        ],
      },
      {
        id: 'b',
        index: 1,
        occurrences: [
          { file: first, line: 2, kept: false, error: true },
          { file: second, line: 1, kept: true, error: false },
        ],
      },
    ]);
    expect(merge.errorRecords).toEqual([]);
    expect(await mergedText(merge)).toBe(`${result('a', 0)}\n${result('b', 1)}\n`);
    expect(merge.complete).toBe(false);
  });

  it('an id the input lists twice may appear twice (the engine answers the repeat with an error record)', async () => {
    const input = file('in.jsonl', '{"id":"x","prompt":"1"}\n{"id":"x","prompt":"2"}\n');
    const repeat = errorRecord('x', 1, 'duplicate_id');
    const merge = await mergeShardOutputs([file('s.jsonl', `${repeat}\n${result('x', 0)}\n`)], { inputFile: input });
    expect(merge.duplicates).toEqual([]);
    expect(merge.inputRepeatedIds).toEqual(['x']);
    expect(merge.expectedCount).toBe(2);
    expect(merge.errorRecords).toEqual([expect.objectContaining({ id: 'x', index: 1, code: 'duplicate_id' })]);
    expect(await mergedText(merge)).toBe(`${result('x', 0)}\n${repeat}\n`);
  });

  it('identifies error records without an id by their input index', async () => {
    const input = file('in.jsonl', '{"id":"a","prompt":"1"}\n[1]\n\n{"id":\n{"id":{"bad":1},"prompt":"2"}\n');
    const shard = file('s.jsonl', `${errorRecord(null, 1, 'not_an_object')}\n${errorRecord(null, 3, 'invalid_field')}\n${result('a', 0)}\n`);
    const merge = await mergeShardOutputs([shard], { inputFile: input });
    expect(merge.expectedCount).toBe(4);
    expect(merge.missing).toEqual([{ id: null, index: 2, inputLine: 4 }]);
    expect(merge.notInInput).toEqual([]);
    expect(merge.errorRecords.map((record) => [record.id, record.index, record.code])).toEqual([
      [null, 1, 'not_an_object'],
      [null, 3, 'invalid_field'],
    ]);
    const again = await mergeShardOutputs([shard, file('t.jsonl', `${errorRecord(null, 3, 'invalid_json')}\n`)]);
    expect(again.duplicates).toEqual([expect.objectContaining({ id: null, index: 3 })]);
  });

  it('a record repeated byte for byte is one result: dropped and counted, not a duplicate', async () => {
    const first = file('s0.jsonl', `${result('a', 0)}\n${result('b', 1)}\n`);
    const second = file('s1.jsonl', `${result('b', 1)}\n`);
    const merge = await mergeShardOutputs([first, second], { inputFile: file('in.jsonl', '{"id":"a","prompt":"1"}\n{"id":"b","prompt":"2"}\n') });
    expect(merge.duplicates).toEqual([]);
    expect(merge.identicalRepeats).toBe(1);
    expect(merge.complete).toBe(true);
    expect(await mergedText(merge)).toBe(`${result('a', 0)}\n${result('b', 1)}\n`);
    // Negative control: the same id with another text is a duplicate.
    const conflicting = await mergeShardOutputs([first, file('s2.jsonl', `${result('b', 1).replace('answer 1', 'other')}\n`)]);
    expect(conflicting.duplicates).toHaveLength(1);
    expect(conflicting.complete).toBe(false);
  });

  it('detects a shard run with different settings', async () => {
    const a = file('a.jsonl', `${result('a', 0)}\n${result('b', 1)}\n${result('c', 2)}\n`);
    const b = file('b.jsonl', `${result('d', 3, 'fp-B')}\n`);
    const merge = await mergeShardOutputs([a, b]);
    expect(merge.settings).toEqual([
      { fingerprint: 'fp-A', lines: 3, files: [a] },
      { fingerprint: 'fp-B', lines: 1, files: [b] },
    ]);
    expect(merge.mismatchedSettingsLines).toBe(1);
    expect(merge.complete).toBe(false);
  });

  it('ignores lines without a fingerprint when comparing settings', async () => {
    const noSettings = JSON.stringify({ id: 'e', index: 1, error: { code: 'empty_prompt', message: 'empty', line: 2 } });
    const merge = await mergeShardOutputs([file('a.jsonl', `${result('a', 0)}\n${noSettings}\n`)]);
    expect(merge.mismatchedSettingsLines).toBe(0);
    expect(merge.errorRecords).toEqual([expect.objectContaining({ id: 'e', code: 'empty_prompt', line: 2 })]);
  });

  it('drops and reports a torn last line; accepts a whole last line without a newline', async () => {
    const torn = result('b', 1).slice(0, 40);
    const a = file('a.jsonl', `${result('a', 0)}\n${torn}`);
    const c = file('c.jsonl', `${result('c', 2)}`);
    const merge = await mergeShardOutputs([a, c], { inputFile: file('in.jsonl', '{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n') });
    expect(merge.tornLines).toEqual([{ file: a, line: 2, bytes: Buffer.byteLength(torn) }]);
    expect(merge.missing).toEqual([{ id: 'b', index: 1, inputLine: 2 }]);
    expect(await mergedText(merge)).toBe(`${result('a', 0)}\n${result('c', 2)}\n`);
    expect(merge.complete).toBe(false);
  });

  it('drops and reports lines that are not records', async () => {
    const a = file('a.jsonl', `${result('a', 0)}\n[1,2]\n{"text":"no id"}\n\n{oops\n`);
    const merge = await mergeShardOutputs([a]);
    expect(merge.invalidLines).toEqual([
      { file: a, line: 2, reason: 'not a JSON object' },
      { file: a, line: 3, reason: 'no "id" string or number' },
      { file: a, line: 5, reason: 'not valid JSON' },
    ]);
    expect(merge.orderedLines).toHaveLength(1);
    expect(merge.complete).toBe(false);
  });

  it('lists ids that are not in the input', async () => {
    const merge = await mergeShardOutputs([file('a.jsonl', `${result('a', 0)}\n${result('stray', 1)}\n`)], {
      inputFile: file('in.jsonl', '{"id":"a"}\n'),
    });
    expect(merge.notInInput).toEqual([{ id: 'stray', index: 1, file: expect.stringMatching(/a\.jsonl$/), line: 2 }]);
    expect(merge.complete).toBe(false);
  });

  describe('OpenAI batch lines', () => {
    const openAi = (customId: string, ok = true): string =>
      JSON.stringify({
        id: `batch_req_${customId}`,
        custom_id: customId,
        response: ok ? { status_code: 200, body: { object: 'chat.completion' } } : null,
        error: ok ? null : { code: 'context_length_exceeded', message: 'too long' },
      });
    const input = ['r-10', 'r-2', 'r-1'].map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: {} })).join('\n');

    it('orders by the input file when given, matching on custom_id', async () => {
      const merge = await mergeShardOutputs([file('a.jsonl', `${openAi('r-1')}\n${openAi('r-10')}\n`), file('b.jsonl', `${openAi('r-2', false)}\n`)], {
        inputFile: file('in.jsonl', input),
      });
      expect(await mergedText(merge)).toBe(`${openAi('r-10')}\n${openAi('r-2', false)}\n${openAi('r-1')}\n`);
      expect(merge.missing).toEqual([]);
      expect(merge.errorRecords).toEqual([expect.objectContaining({ id: 'r-2', code: 'context_length_exceeded' })]);
    });

    it('orders by custom_id without an input file', async () => {
      const merge = await mergeShardOutputs([file('a.jsonl', `${openAi('r-2')}\n${openAi('r-1')}\n${openAi('r-10')}\n`)]);
      expect(await mergedText(merge)).toBe(`${openAi('r-1')}\n${openAi('r-10')}\n${openAi('r-2')}\n`);
      expect(merge.complete).toBe(true);
    });

    it('treats an HTTP error status as an error record', async () => {
      const failed = JSON.stringify({ id: 'x', custom_id: 'r-1', response: { status_code: 500, body: {} }, error: null });
      const merge = await mergeShardOutputs([file('a.jsonl', `${failed}\n`)]);
      expect(merge.errorRecords).toEqual([expect.objectContaining({ id: 'r-1', code: 'http_500' })]);
    });
  });

  it('copies lines byte for byte across read-chunk boundaries (multi-byte text, ~3 MB)', async () => {
    const count = 6000;
    const lines = Array.from({ length: count }, (_, i) =>
      JSON.stringify({ id: `q${i}`, index: i, text: `${'漢字🙂'.repeat(i % 50)}${'x'.repeat((i * 37) % 400)}`, settings: 'fp-A' }),
    );
    const shards = [0, 1, 2].map((k) =>
      file(`big-${k}.jsonl`, lines.filter((_, i) => shardOf(`q${i}`, 3) === k).reverse().map((line) => `${line}\n`).join('')),
    );
    const merge = await mergeShardOutputs(shards);
    expect(merge.complete).toBe(true);
    expect(await mergedText(merge)).toBe(lines.map((line) => `${line}\n`).join(''));
  });
});
