import { describeType } from './checkParamValue';
import { GENERATION_PARAMS, ParamSpec } from './generationParams';

export const PARAM_TABLE_BEGIN = '<!-- generation-parameters:begin (generated from src/params/generationParams.ts: npm run docs:params) -->';
export const PARAM_TABLE_END = '<!-- generation-parameters:end -->';

const cell = (text: string) => text.replace(/\|/g, '\\|');
const code = (text: string) => `\`${text}\``;

function typeText(spec: ParamSpec): string {
  switch (spec.type.kind) {
    case 'stop':
      return 'string or array of strings';
    case 'token_ids':
      return 'array of token ids';
    case 'boolean':
      return 'boolean';
    case 'response_format':
      return 'object';
    case 'json_schema':
      return 'JSON Schema object';
    case 'choices':
      return 'array of strings';
    case 'text':
      return 'string';
    default:
      return describeType({ ...spec.type, note: undefined }).replace(/^an? /, '');
  }
}

function flagText(spec: ParamSpec): string {
  if (!spec.cli) return '—';
  const notes = [spec.cli.repeatable ? 'repeatable' : '', spec.cli.escapes ? '`\\n` `\\t` `\\\\` read as newline, tab, backslash' : ''].filter(Boolean);
  return code(spec.cli.flags) + (notes.length ? ` (${notes.join('; ')})` : '');
}

/** The README's parameter table, rendered from the parameter table (a test keeps README.md equal to it). */
export function paramTableMarkdown(): string {
  const rows = GENERATION_PARAMS.map((spec) =>
    [code(spec.name), typeText(spec), spec.defaultText, flagText(spec), spec.openai.map((f) => code(`body.${f}`)).join(', ') || '—', spec.help]
      .map(cell)
      .join(' | '),
  );
  return [
    PARAM_TABLE_BEGIN,
    '| JSONL field | type and range | default | CLI flag | OpenAI Batch body | meaning |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
    PARAM_TABLE_END,
  ].join('\n');
}

/** Replaces the table between the markers in a README text (or returns null when the markers are missing). */
export function withParamTable(readme: string): string | null {
  const begin = readme.indexOf(PARAM_TABLE_BEGIN);
  const end = readme.indexOf(PARAM_TABLE_END);
  if (begin < 0 || end < begin) return null;
  return readme.slice(0, begin) + paramTableMarkdown() + readme.slice(end + PARAM_TABLE_END.length);
}
