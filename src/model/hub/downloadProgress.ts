/**
 * Shows hub downloads: on a terminal, one cli-progress bar per file; otherwise one line per downloaded file,
 * so logs of piped or CI runs stay short but a long first download is not silent.
 */
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { DownloadProgress } from './downloadEvents';

export interface DownloadProgressDisplay {
  /** Pass as `onProgress` to resolveModelSource. */
  onProgress(event: DownloadProgress): void;
  /** Ends the bars (call in a finally). */
  stop(): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Bars line up for the usual file names (onnx/model_q4f16.onnx_data is 26 characters). */
const FILE_COLUMN = 26;

export function createDownloadProgress(stream: ProgressStream = process.stderr): DownloadProgressDisplay {
  return stream.isTTY ? terminalBars(stream) : finishedFileLines(stream);
}

function terminalBars(stream: ProgressStream): DownloadProgressDisplay {
  let multibar: MultiBar | null = null;
  const bars = new Map<string, { bar: SingleBar; total: number }>();
  return {
    onProgress(event) {
      const key = `${event.model}/${event.file}`;
      if (event.status === 'progress' && event.total) {
        multibar ??= new MultiBar(
          {
            stream: stream as NodeJS.WritableStream,
            format: '{file} [{bar}] {percentage}% | {received} / {size}',
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
            autopadding: true,
          },
          Presets.shades_classic,
        );
        let entry = bars.get(key);
        if (!entry) {
          entry = { bar: multibar.create(event.total, 0, { file: event.file.padEnd(FILE_COLUMN), received: formatBytes(0), size: formatBytes(event.total) }), total: event.total };
          bars.set(key, entry);
        }
        entry.bar.update(Math.min(event.loaded ?? 0, entry.total), { received: formatBytes(event.loaded ?? 0) });
      } else if (event.status === 'done') {
        const entry = bars.get(key);
        entry?.bar.update(entry.total, { received: formatBytes(entry.total) });
      }
    },
    stop() {
      multibar?.stop();
    },
  };
}

function finishedFileLines(stream: ProgressStream): DownloadProgressDisplay {
  const sizes = new Map<string, number>();
  return {
    onProgress(event) {
      const key = `${event.model}/${event.file}`;
      if (event.status === 'progress') sizes.set(key, Math.max(event.loaded ?? 0, event.total ?? 0));
      else if (event.status === 'done' && sizes.has(key)) {
        stream.write(`qwen-gen: downloaded ${key} (${formatBytes(sizes.get(key) ?? 0)})\n`);
        sizes.delete(key);
      }
    },
    stop() {},
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}
