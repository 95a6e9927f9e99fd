// One contender for an output lock (test/output/outputLock.test.ts): `node lockContender.js FILE MODE GO SEED [CRASH_AT]`.
// Prints `ready` once loaded and waits for the file GO to exist, so that every contender starts at once, then takes the lock on FILE with
// the real module (MODE `atomic`: dist/output/outputLock.js) or with the takeover qwen-gen had before (MODE `naive`,
// kept here only as the negative control). At each point of a takeover where another process may interleave it pauses
// 0-20 ms (seeded), to widen the races, and prints `at POINT`. The winner prints `won PID` and holds the lock until its stdin closes; a loser
// prints the error and exits with its exit code (2). With CRASH_AT (a takeover point) it kills itself with SIGKILL there
// instead: a taker that dies mid-takeover.
const fs = require('node:fs');
const path = require('node:path');

const [file, mode, go, seed, crashAt] = process.argv.slice(2);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
let state = Number(seed) >>> 0 || 1;
const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pause = (point) => {
  process.stdout.write(`at ${point}\n`);
  sleep(Math.floor(random() * 21));
};

const { OutputLock } = require(path.resolve(__dirname, '../../dist/output/outputLock.js'));
const { UserError } = require(path.resolve(__dirname, '../../dist/errors.js'));

/** The takeover before it was made atomic: every contender that finds a dead pid deletes "the" lock, then creates its own. */
function naiveAcquire(target) {
  const lockFile = `${target}.lock`;
  const isAlive = (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return error.code === 'EPERM';
    }
  };
  const tryCreate = () => {
    const temporary = `${lockFile}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${process.pid}\n`);
    try {
      fs.linkSync(temporary, lockFile);
      return true;
    } catch (error) {
      if (error.code === 'EEXIST') return false;
      throw error;
    } finally {
      fs.rmSync(temporary, { force: true });
    }
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate()) return { release: () => fs.rmSync(lockFile, { force: true }) };
    let holder = null;
    try {
      holder = Number.parseInt(fs.readFileSync(lockFile, 'utf8').trim(), 10) || null;
    } catch {}
    if (holder !== null && isAlive(holder)) {
      throw new UserError(`output file ${target} is being written by another process (pid ${holder}, lock ${lockFile})`);
    }
    pause('judged-stale');
    fs.rmSync(lockFile, { force: true });
    pause('removed');
  }
  throw new UserError(`cannot lock output file ${target}`);
}

function crash() {
  process.kill(process.pid, 'SIGKILL');
  sleep(60_000); // (never reached)
}

process.stdout.write('ready\n');
while (!fs.existsSync(go)) sleep(1);
let lock;
try {
  lock = mode === 'naive' ? naiveAcquire(file) : OutputLock.acquire(file, { atPoint: (point) => (point === crashAt ? crash() : pause(point)) });
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(error instanceof UserError ? error.exitCode : 1);
}
process.stdout.write(`won ${process.pid}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  lock.release();
  process.exit(0);
});
