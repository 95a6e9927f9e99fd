import { SingleBar } from 'cli-progress';

/** A progress bar on stderr, only when stderr is a terminal; otherwise a no-op, so piped runs print nothing extra. */
export interface Progress {
  update(done: number, total: number, generatedTokens: number): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const started = Date.now();
  let bar: SingleBar | null = null;
  return {
    update(done, total, generatedTokens) {
      if (!bar) {
        bar = new SingleBar(
          { stream, format: 'generating [{bar}] {value}/{total} requests | {tps} tok/s | {duration_formatted}', hideCursor: true, clearOnComplete: false },
        );
        bar.start(total, 0, { tps: '0.0' });
      }
      const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
      bar.update(done, { tps: (generatedTokens / seconds).toFixed(1) });
    },
    stop() {
      bar?.stop();
    },
  };
}
