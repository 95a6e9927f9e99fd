import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordWriter } from '../../src/job/recordWriter';
import { StageTimer } from '../../src/job/stageTimer';
import { JsonlSink } from '../../src/output/jsonlSink';
import { tempDir } from '../helpers/testModels';

const done = {
  id: 'q1',
  index: 0,
  customId: 'q1',
  promptTokens: 4,
  samples: [{ text: 'hi', reasoning: null, reasoningUnfinished: false, finishReason: 'stop' as const, tokenIds: [5, 6], stopString: null }],
  settings: 'fp',
};

function written(format: 'qwen-gen' | 'openai') {
  const file = path.join(tempDir('record-writer'), 'out.jsonl');
  const timer = new StageTimer();
  const records = new RecordWriter(JsonlSink.file(file, 'create'), { settings: 'fp', format, model: 'tiny', includeTokenIds: true, timer });
  records.completed(done);
  records.failure({ id: 'q2', index: 1, customId: 'q2', code: 'empty_prompt', message: 'line 2: the prompt has no tokens', line: 2 });
  records.close();
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  return { lines, records, timer };
}

describe('RecordWriter', () => {
  test('qwen-gen format: a completion and an error record, both with the settings; counted and timed', () => {
    const { lines, records, timer } = written('qwen-gen');
    expect(lines[0]).toMatchObject({ id: 'q1', text: 'hi', completion_token_ids: [5, 6], settings: 'fp' });
    expect(lines[1]).toEqual({ id: 'q2', index: 1, error: { code: 'empty_prompt', message: 'line 2: the prompt has no tokens', line: 2 }, settings: 'fp' });
    expect([records.written, records.failed]).toEqual([1, 1]);
    expect(timer.stages.write).toBeGreaterThan(0);
  });

  test('openai format: batch output lines naming the custom_id and the model', () => {
    const { lines } = written('openai');
    expect(lines[0]).toMatchObject({ custom_id: 'q1', response: { status_code: 200, body: { model: 'tiny' } } });
    expect(lines[1]).toMatchObject({ custom_id: 'q2', error: { code: 'empty_prompt' } });
  });
});
