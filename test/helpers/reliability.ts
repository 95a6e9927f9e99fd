import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { BIN } from './cli';

/** A CLI run in the background, so a test can signal it while it works. */
export interface BackgroundRun {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startCli(args: string[]): BackgroundRun {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

export function countLines(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const bytes = fs.readFileSync(file);
  let lines = 0;
  for (const byte of bytes) if (byte === 0x0a) lines++;
  return lines;
}

/** Polls `file` until it has at least `lines` complete lines (true), or the run ends first (false). */
export async function waitForLines(file: string, lines: number, run: BackgroundRun): Promise<boolean> {
  let ended = false;
  void run.exited.then(() => (ended = true));
  while (!ended) {
    if (countLines(file) >= lines) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return countLines(file) >= lines;
}

/** Every line of an output file, each checked to be a complete JSON line (a test failure otherwise). */
export function outputLines(file: string): { text: string; record: Record<string, unknown> }[] {
  const content = fs.readFileSync(file, 'utf8');
  if (content.length > 0 && !content.endsWith('\n')) throw new Error(`${file} ends with a torn line`);
  return content
    .split('\n')
    .slice(0, -1)
    .map((text) => ({ text, record: JSON.parse(text) as Record<string, unknown> }));
}

/** The file's lines ordered by input index: equal to another run's, byte for byte, when both did the same work. */
export function linesByIndex(file: string): string[] {
  return outputLines(file)
    .sort((a, b) => (a.record.index as number) - (b.record.index as number))
    .map((line) => line.text);
}

/** mulberry32: a tiny seeded generator, so the kill points are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits a command line printed for a POSIX shell (plain words and '…' quoting, as resumeCommand prints it). */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/(?:[^\s']+|'[^']*')+/g)) {
    words.push(match[0].replace(/'([^']*)'/g, '$1'));
  }
  return words;
}
