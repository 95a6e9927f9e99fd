import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processIsAlive } from '../../src/processAlive';

/**
 * Test temp folders are named `qwen-gen-test-<pid>-<prefix>-XXXXXX` after the process that made them (a jest worker), which
 * removes them when its test file is done or when it exits. A run that is killed cannot: jest's globalSetup then removes,
 * at the start of the next run, every such folder whose process is no longer alive (folders of live processes — another
 * run going on at the same time — are left alone).
 */
export const TEMP_DIR_PATTERN = /^qwen-gen-test-(\d+)-/;

export function tempDirName(prefix: string, pid = process.pid): string {
  return `qwen-gen-test-${pid}-${prefix}-`;
}

/** Removes the test temp folders in `root` whose owning process is dead; returns the names removed. */
export function removeStaleTempDirs(root = os.tmpdir()): string[] {
  const removed: string[] = [];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const owner = TEMP_DIR_PATTERN.exec(entry.name);
    if (!owner || !entry.isDirectory() || processIsAlive(Number(owner[1]))) continue;
    fs.rmSync(path.join(root, entry.name), { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
