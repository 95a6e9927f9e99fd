import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { InputFormat } from '../input/request';
import { writeFileAtomically } from './atomicWrite';
import { JsonlSink } from './jsonlSink';
import { OutputLock } from './outputLock';
import { isSpecialFile } from './outputPaths';
import { canonicalRequestId, RequestId } from '../shard/requestId';
import { keptPrefixEnd, readResumeState, ResumeState } from './resumeState';

export interface OutputTargetOptions {
  /** `-o FILE`; undefined writes stdout. */
  file?: string;
  overwrite: boolean;
  resume: boolean;
  /** Resume even when the existing lines were made with other generation settings. */
  force: boolean;
  log: (message: string) => void;
}

/**
 * Where completions go, checked in two phases: `prepare` runs before the model loads (so a bad path or an existing file
 * fails in milliseconds, and `--resume` learns which ids are done), `open` runs once the settings fingerprint is known
 * (resume refuses other settings, cuts off a torn tail or drops error records, then appends).
 */
export class OutputTarget {
  private constructor(
    private readonly options: OutputTargetOptions,
    /** The existing file's content when resuming one; null otherwise. */
    readonly resumed: ResumeState | null,
    /** Held from `prepare` until the sink closes (or `release`); null for stdout. */
    private readonly lock: OutputLock | null = null,
  ) {}

  static async prepare(options: OutputTargetOptions, format: InputFormat): Promise<OutputTarget> {
    const { file } = options;
    if (options.resume && options.overwrite) {
      throw new UserError('--resume and --overwrite contradict each other: --resume keeps the existing lines, --overwrite discards them');
    }
    if (file === undefined) {
      if (options.resume) throw new UserError('--resume needs -o FILE: output written to stdout cannot be resumed');
      return new OutputTarget(options, null);
    }
    // Existence, folder and identity (not the input, not the report) were checked by checkWrittenPaths before the input was read.
    const existing = statOrNull(file);
    if (existing && options.resume) checkAccess(file, fs.constants.R_OK | fs.constants.W_OK, `cannot resume output file ${file}`);
    // A device or a FIFO (`-o /dev/null`) is not a file two runs could corrupt, and its folder is not ours to write a
    // lock into (a user cannot create /dev/null.lock).
    const lock = isSpecialFile(file) ? null : OutputLock.acquire(file);
    try {
      return new OutputTarget(options, options.resume && existing ? await resumeStateFor(file, format) : null, lock);
    } catch (error) {
      lock?.release();
      throw error;
    }
  }

  /** Gives up the output file without writing (the run failed before `open`). */
  release(): void {
    this.lock?.release();
  }

  /** The file name, or `<stdout>`. */
  get name(): string {
    return this.options.file ?? '<stdout>';
  }

  get isFile(): boolean {
    return this.options.file !== undefined;
  }

  /** True when the existing output already has a completion for this id (resume skips it). */
  alreadyDone(id: RequestId): boolean {
    return this.resumed?.doneIds.has(canonicalRequestId(id)) ?? false;
  }

  /** Checks the settings of the lines kept by a resume, removes what resume drops, and opens the sink. */
  async open(settings: string): Promise<JsonlSink> {
    const { file } = this.options;
    if (file === undefined) return JsonlSink.stdout();
    if (this.resumed) {
      this.refuseOtherSettings(this.resumed, settings);
      await compact(this.resumed);
      this.options.log(resumeSummary(this.resumed));
    }
    try {
      const mode = this.options.resume ? 'append' : this.options.overwrite || isSpecialFile(file) ? 'overwrite' : 'create';
      return JsonlSink.file(file, mode, () => this.release());
    } catch (error) {
      this.release();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UserError(`output file ${file} already exists; use --overwrite to replace it or --resume to continue it`);
      throw new UserError(`cannot open output file ${file}: ${(error as Error).message}`);
    }
  }

  private refuseOtherSettings(state: ResumeState, settings: string): void {
    const others = [...state.settings].filter(([fingerprint]) => fingerprint !== settings);
    if (others.length === 0) return;
    const lines = others.reduce((sum, [, count]) => sum + count, 0);
    const shown = others.map(([fingerprint]) => fingerprint || '(none)').join(', ');
    if (this.options.force) {
      this.options.log(`warning: --force: resuming ${state.file} although ${lines} of its lines were generated with other settings (${shown})`);
      return;
    }
    throw new UserError(
      `cannot resume ${state.file}: ${lines} of its ${state.keptLines} lines were generated with other settings ` +
        `(fingerprint ${shown}; this run: ${settings}) — the model, max tokens, sampling or seed differ. ` +
        'Rerun with the original options, or add --force to append anyway.',
    );
  }
}

/** Cuts the file down to its kept lines: a truncation when they are a prefix, otherwise an atomic rewrite. */
async function compact(state: ResumeState): Promise<void> {
  const prefixEnd = keptPrefixEnd(state);
  if (prefixEnd === state.fileSize) return;
  if (prefixEnd !== null) {
    const fd = fs.openSync(state.file, 'r+');
    try {
      fs.ftruncateSync(fd, prefixEnd);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return;
  }
  const source = fs.openSync(state.file, 'r');
  try {
    await writeFileAtomically(state.file, async (handle) => {
      const chunk = Buffer.alloc(1 << 20);
      for (const range of state.kept) {
        for (let done = 0; done < range.length; ) {
          const read = fs.readSync(source, chunk, 0, Math.min(chunk.length, range.length - done), range.offset + done);
          if (read === 0) throw new Error(`${state.file} shrank while resuming`);
          await handle.write(chunk, 0, read);
          done += read;
        }
      }
    });
  } finally {
    fs.closeSync(source);
  }
  syncDirectory(path.dirname(state.file));
}

async function resumeStateFor(file: string, format: InputFormat): Promise<ResumeState> {
  const state = await readResumeState(file);
  if (state.format !== null && state.format !== format) {
    throw new UserError(`cannot resume ${file}: it holds ${formatName(state.format)} lines and this run writes ${formatName(format)} lines (see --format)`);
  }
  return state;
}

function resumeSummary(state: ResumeState): string {
  const dropped: string[] = [];
  if (state.tornTailBytes > 0) dropped.push(`a torn last line (${state.tornTailBytes} bytes)`);
  if (state.droppedErrorRecords > 0) dropped.push(`${state.droppedErrorRecords} error record(s), evaluated again`);
  if (state.droppedDuplicates > 0) dropped.push(`${state.droppedDuplicates} repeated line(s)`);
  return `resuming ${state.file}: ${state.keptLines} complete line(s) kept${dropped.length ? `; dropped ${dropped.join(', ')}` : ''}`;
}

function formatName(format: InputFormat): string {
  return format === 'openai' ? 'OpenAI batch' : 'qwen-gen';
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

function checkAccess(target: string, mode: number, message: string): void {
  try {
    fs.accessSync(target, mode);
  } catch (error) {
    throw new UserError(`${message}: ${(error as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (error as Error).message}`);
  }
}

/** Makes a rename durable; not every platform can open a directory, so this is best effort. */
function syncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort
  }
}
