import * as fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GenerationFlags } from '../job/generationDefaults';
import { checkParamValue } from '../params/checkParamValue';
import { CONSTRAINT_PARAMS, isConstraintParam } from '../params/constraintParams';
import { CliFlag, flagName, GENERATION_PARAMS, ParamSpec } from '../params/generationParams';
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

/** `--json-schema FILE`, `--grammar FILE`: the value is the file's content (parsed as JSON for `json`). */
function fromFile(flag: string, file: NonNullable<CliFlag['file']>, path: string): unknown {
  let content: string;
  try {
    content = fs.readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`;
    throw new InvalidArgumentError(`${flag}: file ${JSON.stringify(path)} ${reason}`);
  }
  if (file === 'text') return content;
  try {
    return JSON.parse(content);
  } catch (error) {
    throw new InvalidArgumentError(`${flag}: file ${JSON.stringify(path)} is not valid JSON (${(error as Error).message})`);
  }
}

/** Parses and checks one flag value with the same rules as the JSONL field; a bad value is a usage error naming the flag. */
function parserFor(spec: ParamSpec) {
  const flag = flagName(spec.cli!);
  return (text: string, previous: unknown): unknown => {
    const value = spec.cli!.file ? fromFile(flag, spec.cli!.file, text) : fromText(spec, text);
    const checked = checkParamValue(spec, spec.cli!.repeatable && spec.type.kind === 'choices' ? [value] : value);
    const source = spec.cli!.file ? `the content of ${JSON.stringify(text)}` : JSON.stringify(text);
    // A repeatable flag's value is one element: "[0]" would point at nothing the user typed.
    if (!checked.ok) throw new InvalidArgumentError(`${flag}${spec.cli!.repeatable ? '' : (checked.at ?? '')} ${checked.requirement}, got ${source}`);
    if (spec.cli!.repeatable) return [...((previous as unknown[] | undefined) ?? []), ...(checked.value as unknown[])];
    return checked.value;
  };
}

/**
 * The commander options of every generation parameter that has a CLI flag, plus --greedy (which conflicts with --temperature).
 * The constraint flags (--json, --json-schema, --regex, --choice, --grammar) conflict with each other: one constraint per run.
 */
export function addGenerationParamOptions(command: Command): Command {
  const constraintAttributes = GENERATION_PARAMS.filter((spec) => spec.cli && isConstraintParam(spec.name)).map((spec) => attributeName(spec.cli!.flags));
  for (const spec of GENERATION_PARAMS) {
    const cli = spec.cli;
    if (!cli) continue;
    const help = `${cli.help}; JSONL "${spec.name}"`;
    const option = new Option(cli.flags, help);
    if (cli.switchValue === undefined) option.argParser(parserFor(spec));
    if (isConstraintParam(spec.name)) option.conflicts(constraintAttributes.filter((name) => name !== attributeName(cli.flags)));
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
    const value = opts[attributeName(cli.flags)];
    if (cli.switchValue === undefined) flags[settingKey(spec.name)] = value;
    // commander gives a negatable switch ("--no-thinking") the default true; only the switch's own use counts as given.
    else flags[settingKey(spec.name)] = value === !cli.flags.startsWith('--no-') ? cli.switchValue : undefined;
  }
  return flags as GenerationFlags;
}

/** The CLI flag of a constraint parameter ("guided_json" → "--json-schema"), for messages about run-wide defaults. */
export function constraintFlag(name: (typeof CONSTRAINT_PARAMS)[number]): string {
  return flagName(GENERATION_PARAMS.find((spec) => spec.name === name)!.cli!);
}

/** commander's attribute name of a flag: "--no-thinking" → "thinking", "--top-p <p>" → "topP". */
function attributeName(flags: string): string {
  const long = flags.split(/[ ,]/)[0].replace(/^--(no-)?/, '');
  return long.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
