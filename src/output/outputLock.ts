import * as fs from 'node:fs';
import { UserError } from '../errors';

/**
 * One writer per output file: `FILE.lock` holds the writer's pid. It is created with its content in one step (a temporary
 * file hard-linked into place, which fails if the lock exists), so a reader never sees an empty lock. A lock whose pid is
 * no longer alive was left by a crashed or killed writer and is taken over. The lock is removed on release and when the
 * process exits (SIGKILL aside, which is what the stale rule is for).
 */
export class OutputLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(readonly file: string, readonly lockFile: string) {
    process.on('exit', this.onExit);
  }

  static acquire(file: string): OutputLock {
    const lockFile = `${file}.lock`;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (tryCreate(lockFile)) return new OutputLock(file, lockFile);
      const holder = holderPid(lockFile);
      if (holder !== null && isAlive(holder)) {
        throw new UserError(
          `output file ${file} is being written by another process (pid ${holder}, lock ${lockFile}); ` +
            'wait for it to finish, or stop it and --resume',
        );
      }
      // The holder is gone (or the lock vanished meanwhile): clear it and try again.
      fs.rmSync(lockFile, { force: true });
    }
    throw new UserError(`cannot lock output file ${file}: ${lockFile} keeps reappearing`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    fs.rmSync(this.lockFile, { force: true });
  }
}

function tryCreate(lockFile: string): boolean {
  const temporary = `${lockFile}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${process.pid}\n`);
  try {
    fs.linkSync(temporary, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UserError(`cannot lock output file: ${(error as Error).message}`);
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** The pid in a lock file; null when it is gone or does not hold one (then nothing alive can be holding it). */
function holderPid(lockFile: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
