import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OutputLock } from '../../src/output/outputLock';
import { tempDir } from '../helpers/testModels';

// Taking over a stale output lock (one whose pid is dead) is atomic: of several processes started at once on it, exactly
// one wins and the others see it as a live holder (exit 2 naming the file and its pid). Contenders are separate
// processes running the built module (dist/, built by `npm test`), pausing 0-20 ms at each takeover point so that many
// interleavings occur; the same harness lets two win with the takeover qwen-gen had before (the negative control).
const CONTENDER = path.resolve(__dirname, '../helpers/lockContender.js');
const ROUNDS = 20;
const PROCESSES = 6;
let work: string;

beforeAll(() => {
  work = tempDir('output-lock-race');
});

/** A pid that is certainly dead (a process that has exited and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

interface Contender {
  pid: number;
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Settles when the contender has loaded the module and waits for the start. */
  ready: Promise<void>;
  /** Settles when the contender has either won (printed `won`) or exited. */
  decided: Promise<void>;
  exited: Promise<number | null>;
}

function startContender(file: string, mode: 'atomic' | 'naive', go: string, seed: number, crashAt?: string): Contender {
  const child = spawn(process.execPath, [CONTENDER, file, mode, go, String(seed), ...(crashAt ? [crashAt] : [])], { stdio: ['pipe', 'pipe', 'pipe'] });
  const contender = { pid: child.pid!, child, stdout: '', stderr: '' } as Contender;
  // 'close', not 'exit': at 'exit' the child's stderr may not be read to its end yet (what a loser printed would be missing).
  contender.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  let ready = (): void => undefined;
  let decided = (): void => undefined;
  contender.ready = new Promise((resolve) => (ready = resolve));
  contender.decided = new Promise((resolve) => (decided = resolve));
  child.stdout!.on('data', (chunk) => {
    contender.stdout += chunk;
    if (contender.stdout.includes('ready')) ready();
    if (contender.stdout.includes('won')) decided();
  });
  void contender.exited.then(() => (ready(), decided()));
  child.stderr!.on('data', (chunk) => (contender.stderr += chunk));
  return contender;
}

/** PROCESSES contenders started at once on `file`; returns them once each has won or exited. */
async function race(file: string, mode: 'atomic' | 'naive', round: number): Promise<Contender[]> {
  const go = `${file}.go`;
  const contenders = Array.from({ length: PROCESSES }, (_, i) => startContender(file, mode, go, round * 100 + i + 1));
  await Promise.all(contenders.map((c) => c.ready));
  fs.writeFileSync(go, ''); // the common start
  await Promise.all(contenders.map((c) => c.decided));
  fs.rmSync(go);
  return contenders;
}

async function endRound(contenders: Contender[]): Promise<void> {
  for (const c of contenders) c.child.stdin!.end();
  await Promise.all(contenders.map((c) => c.exited));
}

/** The stale states a round starts from, in turn: what a killed writer, a foreign tool or a killed taker leaves. */
async function leaveStaleLock(file: string, round: number): Promise<string> {
  const lockFile = `${file}.lock`;
  const kind = round % 5;
  if (kind === 0) fs.writeFileSync(lockFile, `${deadPid()}\n`); // a killed writer (the format before the tag)
  if (kind === 1) fs.writeFileSync(lockFile, `${deadPid()} 0123456789abcdef\n`); // a killed writer
  if (kind === 2) fs.writeFileSync(lockFile, round % 2 ? '' : 'not a pid'); // empty, or no pid
  if (kind >= 3) {
    // A taker killed mid-takeover: after claiming (the lock still stale, its claim left behind), or after replacing the
    // lock (the lock holds the dead taker, the claim of the older lock left behind).
    fs.writeFileSync(lockFile, `${deadPid()}\n`);
    const crashAt = kind === 3 ? 'claimed' : 'replaced';
    const go = `${file}.go`;
    fs.writeFileSync(go, '');
    const crasher = startContender(file, 'atomic', go, round, crashAt);
    await crasher.exited;
    fs.rmSync(go);
    expect(crasher.child.signalCode).toBe('SIGKILL');
    expect(fs.readdirSync(path.dirname(file)).some((name) => name.startsWith(`${path.basename(lockFile)}.takeover-`))).toBe(true);
  }
  return kind === 2 ? 'no pid' : kind >= 3 ? `taker killed when ${kind === 3 ? 'claimed' : 'replaced'}` : 'dead pid';
}

test(`${ROUNDS} rounds of ${PROCESSES} processes started at once on a stale lock: exactly one wins, the others exit 2 naming it`, async () => {
  const seen = new Set<string>();
  let contested = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const dir = path.join(work, `atomic-${round}`);
    fs.mkdirSync(dir);
    const file = path.join(dir, 'out.jsonl');
    seen.add(await leaveStaleLock(file, round));
    const contenders = await race(file, 'atomic', round);
    const winners = contenders.filter((c) => c.stdout.includes('won'));
    expect({ round, winners: winners.length }).toEqual({ round, winners: 1 });
    if (contenders.filter((c) => c.stdout.includes('at judged-stale')).length > 1) contested++;
    const [winner] = winners;
    // The lock is the winner's.
    expect(fs.readFileSync(`${file}.lock`, 'utf8').split(' ')[0].trim()).toBe(String(winner.pid));
    for (const loser of contenders.filter((c) => c !== winner)) {
      expect(await loser.exited).toBe(2);
      expect(loser.stderr).toContain(`output file ${file} is being written by another process (pid ${winner.pid}, lock ${file}.lock)`);
    }
    await endRound(contenders);
    expect(await winner.exited).toBe(0);
    // Released; no claim or temporary file is left behind.
    expect(fs.readdirSync(dir)).toEqual([]);
  }
  expect([...seen].sort()).toEqual(['dead pid', 'no pid', 'taker killed when claimed', 'taker killed when replaced']);
  // The race really took place: in most rounds several contenders judged the lock stale and went for it.
  expect(contested).toBeGreaterThan(ROUNDS / 2);
}, 300_000);

test('negative control: the same race with the takeover qwen-gen had before lets two processes win', async () => {
  let doubleWins = 0;
  for (let round = 0; round < ROUNDS && doubleWins === 0; round++) {
    const dir = path.join(work, `naive-${round}`);
    fs.mkdirSync(dir);
    const file = path.join(dir, 'out.jsonl');
    fs.writeFileSync(`${file}.lock`, `${deadPid()}\n`);
    const contenders = await race(file, 'naive', round);
    if (contenders.filter((c) => c.stdout.includes('won')).length > 1) doubleWins++;
    await endRound(contenders);
  }
  expect(doubleWins).toBeGreaterThan(0);
}, 300_000);

describe('in one process', () => {
  test('a live holder is named; a released lock is free again; release leaves a lock that is not its own', () => {
    const file = path.join(work, 'single.jsonl');
    const lock = OutputLock.acquire(file);
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toMatch(new RegExp(`^${process.pid} [0-9a-f]{16}\\n$`));
    expect(() => OutputLock.acquire(file)).toThrow(`output file ${file} is being written by another process (pid ${process.pid}, lock ${file}.lock)`);
    lock.release();
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    const again = OutputLock.acquire(file);
    // Someone else's lock now sits at the name (it was removed by hand and retaken): release does not remove it.
    fs.writeFileSync(`${file}.lock`, '1 someone-else\n');
    again.release();
    expect(fs.readFileSync(`${file}.lock`, 'utf8')).toBe('1 someone-else\n');
    fs.rmSync(`${file}.lock`);
  });
});
