import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { processIsAlive } from '../processAlive';

/** Points of a takeover at which another process may act; tests pause there to widen the races (see OutputLock.acquire). */
export type TakeoverPoint = 'judged-stale' | 'claimed' | 'replaced';

export interface OutputLockOptions {
  /** Called at each takeover point (tests only: a pause there lets other processes interleave). */
  atPoint?: (point: TakeoverPoint) => void;
}

/** How long a run waits for another process that is taking over the same stale lock before naming it as the holder. */
const LIVE_CLAIM_WAIT_MS = 3000;
const ATTEMPTS = 10;

/**
 * One writer per output file: `FILE.lock` holds the writer's pid and a random tag. Every file this module writes is
 * created with its content in one step (a temporary file hard-linked into place, which fails if the name exists, or
 * renamed over it), so a lock is never seen empty or half-written — a lock that is (not written by this module) holds no
 * pid and counts as stale. The lock is removed on release and when the process exits (SIGKILL aside, which is what the
 * stale rule is for).
 *
 * A lock whose pid is no longer alive is taken over, by exactly one of the processes that find it at once. A lock is
 * never deleted by anyone but its holder; a taker replaces it (rename over it, atomic), and only while it holds the
 * claim for that exact lock: `FILE.lock.takeover-<hash of the stale lock's inode and content>`, created exclusively.
 * Under the claim the taker reads the lock again and replaces it only if it is still the one it judged stale — nothing
 * else can change a stale lock meanwhile (its holder is dead, and creating `FILE.lock` fails while it exists). The
 * others find the claim: while its claimant is alive they wait for it to finish, then see the new holder (exit 2). A
 * claimant that died mid-takeover leaves a stale claim, which is claimed the same way (a claim of the claim), so a
 * crash at any point blocks nobody. The winner removes the claim files: a lock's inode and content never come back
 * once replaced (the tag), so a claim of an old lock can only lead its holder to back off.
 */
export class OutputLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly file: string, readonly lockFile: string, private readonly content: string) {
    process.on('exit', this.onExit);
  }

  static acquire(file: string, options: OutputLockOptions = {}): OutputLock {
    const lockFile = `${file}.lock`;
    const content = `${process.pid} ${crypto.randomBytes(8).toString('hex')}\n`;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (createExclusive(lockFile, content)) return new OutputLock(file, lockFile, content);
      const current = readState(lockFile);
      if (!current) continue; // released meanwhile
      if (current.pid !== null && processIsAlive(current.pid)) throw busy(file, lockFile, current.pid);
      options.atPoint?.('judged-stale');
      const outcome = takeOver(lockFile, current, content, options);
      if (outcome === 'won') return new OutputLock(file, lockFile, content);
      if (typeof outcome === 'number') throw busy(file, lockFile, outcome);
    }
    throw new UserError(`cannot lock output file ${file}: ${lockFile} keeps changing`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    if (readState(this.lockFile)?.content === this.content) fs.rmSync(this.lockFile, { force: true });
  }
}

interface FileState {
  /** The file's inode and content: what a claim names (a replaced lock never has the same identity again). */
  identity: string;
  content: string;
  /** The pid it holds; null when it holds none (then nothing alive can be holding it). */
  pid: number | null;
}

/**
 * Takes over the stale lock `stale`: 'won' (the lock is now `content`), 'retry' (the lock changed meanwhile: look at
 * it again) or the pid of a live process that is taking it over and did not finish within LIVE_CLAIM_WAIT_MS.
 */
function takeOver(lockFile: string, stale: FileState, content: string, options: OutputLockOptions): 'won' | 'retry' | number {
  let key = stale.identity;
  for (let step = 0; step < 100; step++) {
    const claimFile = `${lockFile}.takeover-${crypto.createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
    if (createExclusive(claimFile, content)) {
      options.atPoint?.('claimed');
      let won = false;
      try {
        if (readState(lockFile)?.identity === stale.identity) {
          replace(lockFile, content);
          won = true;
          options.atPoint?.('replaced');
        }
      } finally {
        if (won) removeClaims(lockFile);
        else fs.rmSync(claimFile, { force: true });
      }
      return won ? 'won' : 'retry';
    }
    const claimant = readState(claimFile);
    if (!claimant) continue; // its claimant finished meanwhile: claim again (and find the lock changed)
    if (claimant.pid !== null && processIsAlive(claimant.pid)) {
      const finished = waitUntil(() => readState(claimFile)?.identity !== claimant.identity || !processIsAlive(claimant.pid!));
      return finished ? 'retry' : claimant.pid;
    }
    // Its claimant died mid-takeover: claim that claim.
    key = `${key}\n${claimant.identity}`;
  }
  return 'retry';
}

function busy(file: string, lockFile: string, pid: number): UserError {
  return new UserError(
    `output file ${file} is being written by another process (pid ${pid}, lock ${lockFile}); ` + 'wait for it to finish, or stop it and --resume',
  );
}

/** Creates `file` holding `content` in one step; false when it exists. */
function createExclusive(file: string, content: string): boolean {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, content);
    fs.linkSync(temporary, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UserError(`cannot lock output file: ${(error as Error).message}`);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** Replaces `file` with one holding `content`, in one step. */
function replace(file: string, content: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temporary, content);
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw new UserError(`cannot lock output file: ${(error as Error).message}`);
  }
}

/** The claim files of `lockFile` (called by a taker once the lock is its own: every claim is of an older lock). */
function removeClaims(lockFile: string): void {
  const prefix = `${path.basename(lockFile)}.takeover-`;
  const dir = path.dirname(lockFile);
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(prefix) && /^[0-9a-f]{16}$/.test(name.slice(prefix.length))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** The file's identity, content and pid, read through one descriptor (one inode); null when it does not exist. */
function readState(file: string): FileState | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`cannot lock output file: ${(error as Error).message}`);
  }
  try {
    const content = fs.readFileSync(fd, 'utf8');
    const pid = Number.parseInt(content.trim().split(/\s+/)[0] ?? '', 10);
    return { identity: `${fs.fstatSync(fd).ino}\n${content}`, content, pid: Number.isSafeInteger(pid) && pid > 0 ? pid : null };
  } finally {
    fs.closeSync(fd);
  }
}

/** Polls `done` every 5 ms (a synchronous sleep: acquiring the lock is synchronous) for up to LIVE_CLAIM_WAIT_MS. */
function waitUntil(done: () => boolean): boolean {
  const deadline = Date.now() + LIVE_CLAIM_WAIT_MS;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!done()) {
    if (Date.now() >= deadline) return false;
    Atomics.wait(cell, 0, 0, 5);
  }
  return true;
}
