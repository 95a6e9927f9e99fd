import { progressLine } from './progressLine';

/**
 * The generation progress bar on stderr, only when stderr is a terminal (otherwise a no-op, so piped runs print nothing
 * extra). It appears when generation starts (prefill included), counts tok/s from the first generated token (not from
 * process start: model loading is not decoding), and shows an ETA. Everything else written to the terminal goes around
 * it: `log` clears the bar line, writes the message and redraws; `clear` is called before a JSONL line is written to a
 * terminal stdout. The cursor is hidden while the bar shows and restored on every exit path (also process.exit).
 */
export interface Progress {
  start(total: number): void;
  /** One token generated. */
  token(): void;
  /** A request finished. */
  update(done: number, total: number): void;
  /** Removes the bar line until the next redraw. */
  clear(): void;
  log(message: string): void;
  stop(): void;
}

const SHOW_CURSOR = '\u001b[?25h';
const HIDE_CURSOR = '\u001b[?25l';
const CLEAR_LINE = '\r\u001b[2K';
const REDRAW_MS = 100;

export function createProgress(stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()): Progress {
  const plain: Progress = {
    start() {},
    token() {},
    update() {},
    clear() {},
    log: (message) => stream.write(`${message}\n`),
    stop() {},
  };
  if (!stream.isTTY) return plain;

  let started: number | null = null;
  let firstToken: number | null = null;
  let tokens = 0;
  let done = 0;
  let total = 0;
  let drawn = false;
  let lastDraw = 0;
  let cursorHidden = false;
  const restoreCursor = () => {
    // On process.exit (a second Ctrl-C) the bar may still be on screen: end its line so the shell prompt starts clean.
    if (drawn) stream.write('\n');
    drawn = false;
    if (cursorHidden) stream.write(SHOW_CURSOR);
    cursorHidden = false;
  };

  const draw = () => {
    if (started === null) return;
    const t = now();
    lastDraw = t;
    const line = progressLine({
      done,
      total,
      tokens,
      elapsed: (t - started) / 1000,
      decodeSeconds: firstToken === null ? null : (t - firstToken) / 1000,
      columns: stream.columns || 80,
    });
    stream.write(`${CLEAR_LINE}${line}`);
    drawn = true;
  };
  const clear = () => {
    if (drawn) stream.write(CLEAR_LINE);
    drawn = false;
  };

  return {
    start(n) {
      total = n;
      started = now();
      if (!cursorHidden) {
        stream.write(HIDE_CURSOR);
        cursorHidden = true;
        process.once('exit', restoreCursor);
      }
      draw();
    },
    token() {
      // The first token ends the first prefill: the tok/s clock starts there and counts the tokens after it.
      if (firstToken === null) firstToken = now();
      else tokens++;
      if (now() - lastDraw >= REDRAW_MS || !drawn) draw();
    },
    update(d, n) {
      done = d;
      total = n;
      draw();
    },
    clear,
    log(message) {
      const wasDrawn = drawn;
      clear();
      stream.write(`${message}\n`);
      if (wasDrawn) draw();
    },
    stop() {
      if (drawn) draw();
      started = null;
      restoreCursor();
      process.off('exit', restoreCursor);
    },
  };
}
