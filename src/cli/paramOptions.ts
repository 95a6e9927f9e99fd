import { Command, InvalidArgumentError, Option } from 'commander';
import { GenerationFlags } from '../job/generationDefaults';
import { checkParamValue } from '../params/checkParamValue';
import { flagName, GENERATION_PARAMS, ParamSpec } from '../params/generationParams';
import { settingKey } from '../params/settingKey';

/** A flag's text as the table's type: numbers parsed strictly ("", "1e", "abc" stay invalid), strings as they are. */
function fromText(spec: ParamSpec, text: string): unknown {
  if (spec.type.kind === 'number' || spec.type.kind === 'integer') return text.trim() === '' ? NaN : Number(text);
  return spec.cli?.escapes ? unescapeFlagText(text) : text;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };

/**
 * `\n`, `\t` and `\\` as a newline, a tab and one backslash, read left to right (`\\n` is a backslash and an n); any
 * other backslash stays as typed. A shell passes `--stop "\n\n"` as backslash-n twice: this is what the user meant.
 */
export function unescapeFlagText(text: string): string {
  return text.replace(/\\([nt\\])/g, (_, letter: string) => ESCAPES[letter]);
}

/** Parses and checks one flag value with the same rules as the JSONL field; a bad value is a usage error naming the flag. */
function parserFor(spec: ParamSpec) {
  const flag = flagName(spec.cli!);
  return (text: string, previous: unknown): unknown => {
    const checked = checkParamValue(spec, fromText(spec, text));
    if (!checked.ok) throw new InvalidArgumentError(`${flag} ${checked.requirement}, got ${JSON.stringify(text)}`);
    if (spec.cli!.repeatable) return [...((previous as unknown[] | undefined) ?? []), ...(checked.value as unknown[])];
    return checked.value;
  };
}

/** The commander options of every generation parameter that has a CLI flag, plus --greedy (which conflicts with --temperature). */
export function addGenerationParamOptions(command: Command): Command {
  for (const spec of GENERATION_PARAMS) {
    const cli = spec.cli;
    if (!cli) continue;
    const help = `${cli.help}; JSONL "${spec.name}"`;
    const option = new Option(cli.flags, help);
    if (cli.switchValue === undefined) option.argParser(parserFor(spec));
    command.addOption(option);
  }
  command.addOption(new Option('--greedy', 'greedy decoding by default (temperature 0)').conflicts('temperature'));
  return command;
}

/** Reads the generation flags commander parsed (undefined = not given) under their settings keys. */
export function generationFlagsOf(opts: Record<string, unknown>): GenerationFlags {
  const flags: Record<string, unknown> = { greedy: opts.greedy };
  for (const spec of GENERATION_PARAMS) {
    const cli = spec.cli;
    if (!cli) continue;
    const attribute = attributeName(cli.flags);
    const value = opts[attribute];
    if (cli.switchValue === undefined) flags[settingKey(spec.name)] = value;
    // commander gives a negatable switch ("--no-thinking") the default true; only the switch's own value counts as given.
    else flags[settingKey(spec.name)] = value === cli.switchValue ? value : undefined;
  }
  return flags as GenerationFlags;
}

/** commander's attribute name of a flag: "--no-thinking" → "thinking", "--top-p <p>" → "topP". */
function attributeName(flags: string): string {
  const long = flags.split(/[ ,]/)[0].replace(/^--(no-)?/, '');
  return long.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
