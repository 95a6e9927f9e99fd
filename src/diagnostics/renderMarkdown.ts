import { GQA_NEEDS_RIGHT_PADDING } from '../attentionKind';
import { Finding, Severity } from './finding';
import { Figures } from './figures';
import { megabytes, percent, seconds } from './renderSummary';
import { Report } from './report';
import { exitVerdict } from './gate';

const BADGE: Record<Severity, string> = { error: '❌ error', warning: '⚠️ warning', info: 'ℹ️ info' };

/** `--report-format markdown`: the report as a GitHub job summary (append it to $GITHUB_STEP_SUMMARY). */
export function renderMarkdown(report: Report): string {
  const { model } = report;
  const out: string[] = [];
  out.push('## qwen-gen report', '');
  out.push(
    `**Model** \`${model.spec}\` — ${model.attention === 'gqa' ? GQA_NEEDS_RIGHT_PADDING : 'plain attention'}, ` +
      `KV ${model.kv_dtype}, context ${model.context_length} tokens; ${model.protocol.description}.`,
    '',
  );
  out.push(`**Gate** \`--fail-on ${report.exit.fail_on}\`: ${gateVerdict(report)}`, '');

  out.push('### Findings', '');
  if (report.findings.length === 0) out.push('No findings.', '');
  else {
    out.push('| Severity | Code | Finding | What qwen-gen did |', '|---|---|---|---|');
    for (const finding of report.findings) {
      out.push(`| ${BADGE[finding.severity]} | \`${finding.code}\` | ${cell(finding.message)} | ${cell(finding.action)} |`);
    }
    out.push('');
  }

  if (report.figures) out.push('### Run figures', '', ...figureTable(report.figures), '');

  if (report.findings.length > 0) {
    out.push('<details><summary>Evidence</summary>', '');
    for (const finding of report.findings) out.push(...evidenceBlock(finding));
    out.push('</details>', '');
  }
  out.push(`<sub>qwen-gen ${report.tool.version} · report version ${report.version}${report.settings ? ` · settings \`${report.settings}\`` : ''}</sub>`, '');
  return out.join('\n');
}

function gateVerdict(report: Report): string {
  const verdict = exitVerdict(report.exit);
  const badge = verdict.tone === 'good' ? '✅' : verdict.tone === 'bad' ? '❌' : '⏹️';
  return `${badge} ${verdict.text.replace(/^--fail-on \S+: /, '')}`;
}

function figureTable(f: Figures): string[] {
  const histogram = (counts: Record<string, number>) =>
    Object.entries(counts).map(([size, steps]) => `${size}: ${steps}`).join(', ') || '—';
  const wasteCell = (w: { pad_positions: number; positions: number; fraction: number }) =>
    `${percent(w.fraction)} (${w.pad_positions} of ${w.positions} positions)`;
  const rate = (value: number | null) => (value === null ? '—' : `${value}`);
  const rows: [string, string][] = [
    ['Requests', `${f.requests}${f.failed_requests > 0 ? ` (+${f.failed_requests} failed)` : ''}`],
    ['Batches (prefill steps)', `${f.batches}`],
    ['Decode steps', `${f.decode_steps}`],
    ['Batch sizes, prefill (size: steps)', histogram(f.batch_size_histogram.prefill)],
    ['Batch sizes, decode (size: steps)', histogram(f.batch_size_histogram.decode)],
    ['Prompt / completion tokens', `${f.tokens.prompt} / ${f.tokens.completion}`],
    ['Padding waste, prefill', wasteCell(f.padding_waste.prefill)],
    ['Padding waste, decode', `${wasteCell(f.padding_waste.decode)}: ${f.padding_waste.decode.note}`],
    ['Time', (['load', 'tokenize', 'prefill', 'decode', 'write', 'total'] as const).map((s) => `${s} ${seconds(f.stage_ms[s])}`).join(', ')],
    ['Completion tokens/s (prefill + decode)', rate(f.tokens_per_second.completion)],
    ['Prompt tokens/s (prefill)', rate(f.tokens_per_second.prefill)],
    ['Completion tokens/s (wall)', rate(f.tokens_per_second.completion_wall)],
    ['Peak RSS', megabytes(f.peak_rss_bytes)],
  ];
  return ['| Figure | Value |', '|---|---|', ...rows.map(([name, value]) => `| ${name} | ${cell(value)} |`)];
}

function evidenceBlock(finding: Finding): string[] {
  const json = compactJson(finding.evidence);
  const shown = json.length > 4000 ? `${json.slice(0, 4000)}\n… (${json.length - 4000} more characters in the JSON report)` : json;
  return [`**\`${finding.code}\`**`, '', '```json', shown.replace(/```/g, '`\u200b``'), '```', ''];
}

/** Indented JSON with arrays of scalars and small objects kept on one line. */
function compactJson(value: unknown, indent = ''): string {
  const flat = JSON.stringify(value) ?? 'null';
  if (value === null || typeof value !== 'object' || flat.length <= 80) return flat;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((item) => inner + compactJson(item, inner)).join(',\n')}\n${indent}]`;
  const entries = Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${compactJson(item, inner)}`);
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

/** A table cell: pipes escaped, `<` escaped (GitHub would drop `<think>` as an HTML tag), line breaks flattened. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/\r?\n/g, ' ');
}
