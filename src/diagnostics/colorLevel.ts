/**
 * The chalk colour level for the human summary on stderr: NO_COLOR (set and non-empty, see no-color.org) always wins;
 * then FORCE_COLOR as chalk reads it ("0"/"false" off, "1"/"true"/"" basic, "2" 256 colours, "3" truecolor); otherwise
 * basic colour on a TTY and none when piped.
 */
export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  return isTTY && env.TERM !== 'dumb' ? 1 : 0;
}
