import { Command, CommanderError } from 'commander';
import { ExitCode, UserError } from '../errors';
import { registerGenerate } from './commands/generate';
import { registerTinyModel } from './commands/tinyModel';
import { registerMerge } from './commands/merge';
import { registerInspect } from './commands/inspect';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('qwen-gen')
    .description('Batch text generation with Qwen3 ONNX models: batched output equals solo output.')
    .version(require('../../package.json').version)
    .showHelpAfterError('(run with --help for usage)')
    // Each command declares its own options: an option of `generate` given to `inspect` is an error, never silently taken.
    .enablePositionalOptions()
    // Before the subcommands are added: they copy this setting, so usage errors anywhere exit 2 via reportFatal.
    .exitOverride();
  registerGenerate(program);
  registerTinyModel(program);
  registerMerge(program);
  registerInspect(program);
  return program;
}

export function reportFatal(error: unknown): number {
  if (error instanceof UserError) {
    process.stderr.write(`qwen-gen: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : ExitCode.usage;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`qwen-gen: unexpected error: ${message}\n`);
  if (process.env.QWEN_GEN_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
  return ExitCode.usage;
}

export async function main(argv: string[]): Promise<void> {
  // Last resort for an error escaping every handler (an event callback, say): a message and exit code, never a stack trace.
  const fatal = (error: unknown) => {
    process.exitCode = reportFatal(error);
    process.exit();
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportFatal(error);
  }
}
