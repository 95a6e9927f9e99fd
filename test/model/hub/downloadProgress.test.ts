/** Download progress display: bars on a terminal, one line per downloaded file elsewhere. */
import { DownloadProgress } from '../../../src/model/hub/downloadEvents';
import { createDownloadProgress, formatBytes } from '../../../src/model/hub/downloadProgress';

class CapturedStream {
  text = '';
  columns = 120;
  constructor(readonly isTTY: boolean) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  on(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
}

const model = 'org/name';
const events: DownloadProgress[] = [
  { status: 'initiate', model, file: 'config.json' },
  { status: 'download', model, file: 'config.json' },
  { status: 'progress', model, file: 'config.json', loaded: 900, total: 900 },
  { status: 'done', model, file: 'config.json' },
  { status: 'initiate', model, file: 'generation_config.json' }, // a 404 for an optional file: no progress, no done
  { status: 'initiate', model, file: 'onnx/model.onnx_data' },
  { status: 'progress', model, file: 'onnx/model.onnx_data', loaded: 1_000_000, total: 2_500_000 },
  { status: 'progress', model, file: 'onnx/model.onnx_data', loaded: 2_500_000, total: 2_500_000 },
  { status: 'done', model, file: 'onnx/model.onnx_data' },
];

test('not a terminal: one line per downloaded file, nothing for files never received', () => {
  const stream = new CapturedStream(false);
  const display = createDownloadProgress(stream);
  for (const event of events) display.onProgress(event);
  display.stop();
  expect(stream.text).toBe('qwen-gen: downloaded org/name/config.json (900 B)\nqwen-gen: downloaded org/name/onnx/model.onnx_data (2.50 MB)\n');
});

test('a terminal: a bar per file, drawn to the stream and finished at 100%', () => {
  const stream = new CapturedStream(true);
  const display = createDownloadProgress(stream);
  for (const event of events) display.onProgress(event);
  display.stop();
  expect(stream.text).toMatch(/config\.json +\[[^\]]*\] 100% \| 900 B \/ 900 B/);
  expect(stream.text).toMatch(/onnx\/model\.onnx_data +\[[^\]]*\] 100% \| 2\.50 MB \/ 2\.50 MB/);
  expect(stream.text).not.toMatch(/generation_config/);
});

test('formatBytes', () => {
  expect([0, 999, 1000, 22_647, 19_579_008, 2_400_000_000].map(formatBytes)).toEqual(['0 B', '999 B', '1.00 kB', '22.6 kB', '19.6 MB', '2.40 GB']);
});
