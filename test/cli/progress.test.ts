import * as fs from 'node:fs';
import * as path from 'node:path';
import { createProgress } from '../../src/cli/progress';
import { progressLine } from '../../src/cli/progressLine';
import { CTRL_C, runInPty } from '../helpers/pty';
import { buildTestModel, tempDir } from '../helpers/testModels';

const HIDE = '\u001b[?25l';
const SHOW = '\u001b[?25h';
const CLEAR = '\r\u001b[2K';
let modelDir: string;
let work: string;
let input: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-progress');
  work = tempDir('cli-progress');
  input = path.join(work, 'in.jsonl');
  const lines = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: i, prompt: `Hello number ${i}`, max_tokens: 120, ignore_eos: true }));
  fs.writeFileSync(input, lines.join('\n') + '\n');
});

/** A fake terminal stream and clock. */
function fakeTerminal() {
  let written = '';
  let t = 0;
  const stream = { isTTY: true, columns: 100, write: (text: string) => ((written += text), true) } as unknown as NodeJS.WriteStream;
  return { stream, now: () => t, advance: (ms: number) => (t += ms), get written() { return written; } };
}

test('tok/s counts from the first generated token, not from process start or model load', () => {
  const term = fakeTerminal();
  term.advance(30_000); // model loading and tokenizing: not part of the rate
  const progress = createProgress(term.stream, term.now);
  progress.start(4);
  expect(term.written).toContain('prefill ');
  term.advance(2_000); // the first prefill
  progress.token();
  for (let i = 0; i < 50; i++) {
    term.advance(20);
    progress.token();
  }
  progress.update(1, 4);
  const last = term.written.split(CLEAR).pop()!;
  expect(last).toContain('50.0 tok/s'); // 50 tokens in 1 s of decoding
  expect(last).toContain('1/4 requests');
  expect(last).toMatch(/ETA 0:09/); // 3 s per request so far, 3 left
  progress.stop();
  expect(term.written.lastIndexOf(SHOW)).toBeGreaterThan(term.written.lastIndexOf(HIDE));
});

test('log clears the bar line, writes the message on its own line and redraws', () => {
  const term = fakeTerminal();
  const progress = createProgress(term.stream, term.now);
  progress.start(2);
  progress.log('qwen-gen: a message');
  expect(term.written).toMatch(/requests[^\n]*\r\u001b\[2Kqwen-gen: a message\n\r\u001b\[2Kprefill/);
  progress.stop();
});

test('the line fits the terminal width', () => {
  for (const columns of [40, 80, 200]) {
    const line = progressLine({ done: 3, total: 1000, tokens: 12345, elapsed: 4000, decodeSeconds: 3990, columns });
    expect(line.length).toBeLessThan(columns);
  }
});

test('in a terminal: the bar shows from the start with ETA, JSONL lines never land on it, the cursor comes back', () => {
  const result = runInPty([input, '-m', modelDir, '--greedy', '-b', '4']);
  expect(result.status).toBe(0);
  const out = result.output;
  expect(out.indexOf(HIDE)).toBeGreaterThanOrEqual(0);
  expect(out).toMatch(/prefill +\[░+\] 0\/30 requests/);
  expect(out).toMatch(/generating +\[█+░*\] \d+\/30 requests \| [\d.]+ tok\/s \| ETA \d+:\d\d \| \d+:\d\d/);
  // Every JSONL line starts a clean line: after a newline or after the bar line was cleared, never after bar text.
  const starts = [...out.matchAll(/\{"id":/g)].map((m) => m.index!);
  expect(starts).toHaveLength(30);
  for (const at of starts) expect(out.slice(Math.max(0, at - 6), at)).toMatch(/(\n|\u001b\[2K)$/);
  expect(out.lastIndexOf(SHOW)).toBeGreaterThan(out.lastIndexOf(HIDE));
});

test('Ctrl-C: the message is on its own line (not on the bar), the run stops with 130 and prints the resume command', () => {
  const output = path.join(work, 'out-1.jsonl');
  // Typed once the bar says generation has started (its first token is out): 30 × 120 tokens are far from done.
  const result = runInPty([input, '-m', modelDir, '--greedy', '-b', '4', '-o', output], { steps: [{ after: 'generating', send: CTRL_C }] });
  expect(result.sent).toBe(1);
  expect(result.status).toBe(130);
  expect(result.output).toMatch(/\u001b\[2Kqwen-gen: SIGINT: stopping after the current step/);
  expect(result.output).toMatch(/--resume/);
  expect(result.output.lastIndexOf(SHOW)).toBeGreaterThan(result.output.lastIndexOf(HIDE));
});

// A second Ctrl-C (during a model step in flight, with the cursor and the bar line restored) is tested in
// test/cli/signals.test.ts on a model whose steps last long enough for the second Ctrl-C to be typed once the first one's
// message is on screen: with this tiny model the run can end before a second Ctrl-C arrives, which made the test flaky.
