import { Command, CommanderError } from 'commander';
import { ExitCode, UserError } from '../errors';
import { registerGenerate } from './commands/generate';
import { registerTinyModel } from './commands/tinyModel';
import { registerMerge } from './commands/merge';
import { registerInspect } from './commands/inspect';
import { COMMAND_NAMES } from './commandNames';
import { didYouMean } from '../closestName';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('qwen-gen')
    .description('Batch text generation with Qwen3 ONNX models: batched output equals solo output.')
    .version(require('../../package.json').version)
    .showHelpAfterError('qwen-gen: run with --help for usage')
    // commander's own messages ("error: unknown option …") speak with the same prefix as every other message.
    .configureOutput({ outputError: (text, write) => write(`qwen-gen: ${text.replace(/^error: /, '')}`) })
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

/** `qwen-gen help nosuch`: commander would print the whole help; say the command is unknown instead. */
function checkHelpTopic(args: string[]): void {
  if (args[0] !== 'help' || args[1] === undefined || args[1].startsWith('-') || COMMAND_NAMES.includes(args[1])) return;
  throw new UserError(`help: unknown command '${args[1]}'${didYouMean(args[1], COMMAND_NAMES, (name) => `'${name}'`)} (commands: ${COMMAND_NAMES.join(', ')})`);
}

/**
 * A reader that goes away (`qwen-gen --dry-run … | head -1`, `inspect | head`, `merge - … | head`, `--help | head`) is
 * not a failure: every command ends quietly with 0, as a generate run writing JSONL does. stderr going away is ignored.
 */
function endQuietlyOnBrokenPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(ExitCode.ok);
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

export async function main(argv: string[]): Promise<void> {
  // Last resort for an error escaping every handler (an event callback, say): a message and exit code, never a stack trace.
  const fatal = (error: unknown) => {
    process.exitCode = reportFatal(error);
    process.exit();
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  endQuietlyOnBrokenPipe();
  const program = buildProgram();
  try {
    checkHelpTopic(argv.slice(2));
    await program.parseAsync(argv);
  } catch (error) {
    process.exitCode = reportFatal(error);
  }
}
