/**
 * The command that continues an interrupted run: the same arguments with `--resume` (replacing `--overwrite`, which would
 * discard the lines already written), quoted for a POSIX shell.
 */
export function resumeCommand(args: readonly string[]): string {
  const kept = args.filter((arg) => arg !== '--overwrite');
  if (!kept.includes('--resume')) kept.push('--resume');
  return ['qwen-gen', ...kept].map(shellQuote).join(' ');
}

export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
