import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN } from './cli';

export interface PtyResult {
  status: number;
  /** Everything the terminal received (stdout and stderr interleaved, as a user sees them), escape sequences included. */
  output: string;
  /** How many steps were typed (a step whose text never appeared is not). */
  sent: number;
  timedOut: boolean;
}

/** Typed into the terminal once `after` is on screen (after the previous step's text): the program's state, not a delay. */
export interface PtyStep {
  after: string;
  send: string;
}

export const CTRL_C = '\u0003';
export const CTRL_D = '\u0004';

/** Runs the real CLI in a pseudo-terminal (python3's pty module), typing each step once its text is on screen. */
export function runInPty(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; steps?: PtyStep[]; columns?: number; timeout?: number; cwd?: string } = {},
): PtyResult {
  const config = {
    argv: [process.execPath, BIN, ...args],
    env: { NO_COLOR: '1', ...options.env },
    steps: options.steps ?? [],
    columns: options.columns ?? 100,
    timeout: options.timeout ?? 120,
    cwd: options.cwd,
  };
  const result = spawnSync('python3', [path.join(__dirname, 'ptyRun.py'), JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`ptyRun.py failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PtyResult;
}
