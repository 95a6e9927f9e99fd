import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { BIN } from './cli';

export interface PtyResult {
  status: number;
  /** Everything the terminal received (stdout and stderr interleaved, as a user sees them), escape sequences included. */
  output: string;
  interrupts: number;
}

/** Runs the real CLI in a pseudo-terminal (python3's pty module); optionally types Ctrl-C once `after` is on screen. */
export function runInPty(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; interrupts?: number; after?: string; gap?: number; columns?: number; timeout?: number } = {},
): PtyResult {
  const config = {
    argv: [process.execPath, BIN, ...args],
    env: { NO_COLOR: '1', ...options.env },
    interrupts: options.interrupts ?? 0,
    after: options.after,
    gap: options.gap ?? 0.3,
    columns: options.columns ?? 100,
    timeout: options.timeout ?? 120,
  };
  const result = spawnSync('python3', [path.join(__dirname, 'ptyRun.py'), JSON.stringify(config)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`ptyRun.py failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PtyResult;
}
