import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN } from '../helpers/cli';
import { CTRL_C, runInPty } from '../helpers/pty';
import { buildTestModel, tempDir } from '../helpers/testModels';

// Signals at the two moments a run waits: for its input (a terminal, or a pipe whose writer is still open) and for a
// model step in flight (a second Ctrl-C). Each test acts on a state the program reports — a line it prints, or the
// signal handler it has installed — never on a time gap, so a correct program cannot fail it.
const HIDE = '\u001b[?25l';
const SHOW = '\u001b[?25h';
let modelDir: string;
let slowModelDir: string;
let work: string;

beforeAll(async () => {
  modelDir = await buildTestModel('cli-signals');
  // Slow enough that one prefill step of a 600-token prompt lasts most of a second here (well under the 5 s a second
  // Ctrl-C waits, well over the few ms the terminal needs to deliver it): a second Ctrl-C typed as soon as the first
  // one's message is on screen lands inside that step.
  slowModelDir = await buildTestModel('cli-signals-slow', { hiddenSize: 384, layers: 6, heads: 6, kvHeads: 2, headDim: 64, intermediateSize: 1536 });
  work = tempDir('cli-signals');
}, 180_000);

test('SIGTERM while stdin is a pipe whose writer is still open: exit 130 at once, nothing written', async () => {
  // QWEN_GEN_DEBUG=1 makes the run say when it starts reading its input (its signal handlers are in place by then).
  const child = spawn(process.execPath, [BIN, '-m', modelDir, '--greedy'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', QWEN_GEN_DEBUG: '1' },
  });
  let stdout = '';
  let stderr = '';
  let reading: () => void;
  const readingInput = new Promise<void>((resolve) => (reading = resolve));
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.includes('qwen-gen: debug: reading requests from stdin')) reading();
  });
  // One complete request is written and the pipe stays open, as `(cat p.jsonl; sleep 600) | qwen-gen` would.
  child.stdin.write('{"id":"a","prompt":"Hello"}\n');
  // The exit, and stdout and stderr read to their end (at 'exit' they may not be yet).
  const exited = Promise.all([
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))),
    once(child.stdout, 'close'),
    once(child.stderr, 'close'),
  ]).then(([exit]) => exit);
  await readingInput;
  child.kill('SIGTERM');
  // Without the fix the run waits for the writer to close its end: give it a minute, then close it (the old run then
  // generated the line and exited 0).
  const closer = setTimeout(() => child.stdin.end(), 60_000);
  const { code, signal } = await exited;
  clearTimeout(closer);
  expect(signal).toBeNull();
  expect(code).toBe(130);
  expect(stdout).toBe('');
  expect(stderr).toContain('qwen-gen: SIGTERM: stopping (nothing has been generated yet)');
  expect(stderr).toContain('qwen-gen: stopped while reading the input: nothing was generated');
  // Each message once.
  expect(stderr.match(/SIGTERM/g)).toHaveLength(1);
});

test('a terminal with no input file says it reads stdin; Ctrl-C while it waits exits 130 at once, nothing written', () => {
  const result = runInPty(['-m', modelDir, '--greedy'], { steps: [{ after: 'reading requests from stdin', send: CTRL_C }], timeout: 60 });
  expect(result.timedOut).toBe(false);
  expect(result.sent).toBe(1);
  expect(result.output).toContain('qwen-gen: reading requests from stdin (the terminal): one JSON object per line, then Ctrl-D');
  expect(result.output).not.toContain('Usage:'); // not the help
  expect(result.status).toBe(130);
  expect(result.output).toContain('qwen-gen: stopped while reading the input: nothing was generated');
  expect(result.output).not.toContain('"id"');
});

test("the input given as '-' in a terminal says the same, and a request typed there is generated", () => {
  const result = runInPty(['-', '-m', modelDir, '--greedy', '--max-tokens', '2', '-q'], {
    steps: [{ after: 'reading requests from stdin', send: '{"id":"typed","prompt":"Hello"}\n\u0004' }],
    timeout: 60,
  });
  expect(result.status).toBe(0);
  expect(result.output).toContain('reading requests from stdin');
  expect(result.output).toMatch(/\{"id":"typed","index":0,"text":/);
});

test('a second Ctrl-C during a model step waits for that step, then exits 130: no crash, cursor and line restored', () => {
  const input = path.join(work, 'long.jsonl');
  // Prompts share no prefix (no prefix-cache check steps first): the first step is the prefill of a ~600-token prompt.
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu'.split(' ');
  const lines = Array.from({ length: 4 }, (_, i) =>
    JSON.stringify({ id: i, prompt: Array.from({ length: 120 }, (_, j) => `${words[(i * 5 + j) % 12]}${(j * 7919 + i * 104729) % 9973}`).join(' '), max_tokens: 8 }),
  );
  fs.writeFileSync(input, lines.join('\n') + '\n');
  const output = path.join(work, 'out-2.jsonl');
  const result = runInPty([input, '-m', slowModelDir, '--greedy', '-b', '1', '-o', output], {
    steps: [
      // The bar appears when generation starts: the first prefill step is launched in the same synchronous stretch.
      { after: '0/4 requests', send: CTRL_C },
      // The first Ctrl-C is acknowledged while that step runs; the second one is typed then.
      { after: 'SIGINT: stopping after the current step', send: CTRL_C },
    ],
  });
  expect(result.sent).toBe(2);
  expect(result.output).toContain('SIGINT again: stopping as soon as the onnxruntime call in flight (a model step, or the model loading) ends (at most 5 s)');
  expect(result.output).not.toContain('SIGINT again: stopping now');
  // Exit 130 from qwen-gen itself: not death by a signal (-2), not a native crash (SIGSEGV -11, SIGABRT -6).
  expect(result.status).toBe(130);
  expect(result.output).not.toMatch(/Segmentation|Aborted|FATAL|terminate called/);
  expect(result.output.lastIndexOf(SHOW)).toBeGreaterThan(result.output.lastIndexOf(HIDE));
  // The bar's line is ended before the cursor comes back: the shell prompt starts on a clean line.
  expect(result.output).toMatch(/\r?\n\u001b\[\?25h(\^C)?$/);
  expect(fs.existsSync(`${output}.lock`)).toBe(false);
}, 180_000);
