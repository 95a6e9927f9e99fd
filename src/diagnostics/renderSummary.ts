import chalk from 'chalk';
import { Severity } from './finding';
import { Figures } from './figures';
import { Report } from './report';
import { exitVerdict } from './gate';
import { plural } from '../plural';

/**
 * The short human summary printed on stderr at the end of a run: figures in two lines, then errors and warnings one line
 * each (info findings by code only), then the gate's verdict. Colour only when asked (see colorLevel).
 */
export function renderSummary(report: Report, options: { color: boolean; reportFile?: string }): string {
  const c = new chalk.Instance({ level: options.color ? 1 : 0 });
  const paint: Record<Severity, (text: string) => string> = { error: c.red.bold, warning: c.yellow, info: c.cyan };
  const lines: string[] = [];
  if (report.figures) lines.push(...figureLines(report.figures));

  const { error, warning, info } = report.finding_counts;
  const counts = [count(error, 'error'), count(warning, 'warning'), count(info, 'info')].filter(Boolean).join(', ');
  lines.push(`findings: ${counts || 'none'}`);
  for (const finding of report.findings.filter((f) => f.severity !== 'info')) {
    lines.push(`  ${paint[finding.severity](finding.severity.padEnd(7))} ${c.bold(finding.code)}: ${finding.message}`);
  }
  const infos = report.findings.filter((f) => f.severity === 'info');
  const details = options.reportFile !== undefined ? `details in ${options.reportFile}` : 'details with --report FILE';
  if (infos.length > 0) lines.push(`  ${paint.info('info'.padEnd(7))} ${infos.map((f) => f.code).join(', ')} (${details})`);

  lines.push(gateText(report, c));
  return lines.map((line) => `qwen-gen: ${line}`).join('\n') + '\n';
}

/** -q: the error findings, then one line with the result (requests, failures, findings, gate). */
export function renderQuietSummary(report: Report, options: { color: boolean }): string {
  const c = new chalk.Instance({ level: options.color ? 1 : 0 });
  const lines = report.findings.filter((f) => f.severity === 'error').map((f) => `${c.red.bold('error')} ${c.bold(f.code)}: ${f.message}`);
  lines.push(resultLine(report, c));
  return lines.map((line) => `qwen-gen: ${line}`).join('\n') + '\n';
}

function resultLine(report: Report, c: chalk.Chalk): string {
  const f = report.figures;
  const { error, warning } = report.finding_counts;
  const done = f
    ? `${plural(f.requests, 'request')}${f.failed_requests > 0 ? `, ${f.failed_requests} failed` : ''} in ${seconds(f.stage_ms.total)}`
    : 'no requests run';
  return `${done}; ${plural(error, 'error')}, ${plural(warning, 'warning')}; ${gateText(report, c)}`;
}

/** The gate's verdict, ending with the run's exit code (see exitVerdict): the same words in every summary. */
function gateText(report: Report, c: chalk.Chalk): string {
  const verdict = exitVerdict(report.exit);
  const paint = verdict.tone === 'good' ? c.green : verdict.tone === 'bad' ? c.red.bold : c.yellow;
  return paint(verdict.text);
}

function figureLines(f: Figures): string[] {
  const failed = f.failed_requests > 0 ? ` (${f.failed_requests} failed)` : '';
  const speed = f.tokens_per_second.completion === null ? '' : `, ${f.tokens_per_second.completion} tok/s`;
  const stages = (['load', 'tokenize', 'prefill', 'decode', 'write'] as const).map((s) => `${s} ${seconds(f.stage_ms[s])}`).join(', ');
  const prefix = f.prefix_cache;
  const saved =
    prefix && prefix.prompt_tokens_reused > 0
      ? `; prefix cache: ${plural(prefix.hits, 'hit')}, ${prefix.prompt_tokens_reused} prompt tokens reused, ${prefix.prompt_tokens_computed} computed ` +
        `(${percent(prefix.prompt_tokens_reused / (prefix.prompt_tokens_reused + prefix.prompt_tokens_computed))} of prefill saved)`
      : '';
  return [
    `${plural(f.requests, 'request')}${failed} in ${plural(f.batches, 'batch', 'batches')}; ${f.tokens.prompt} prompt + ${f.tokens.completion} completion tokens${speed}${saved}`,
    `padding waste: prefill ${percent(f.padding_waste.prefill.fraction)}, decode ${percent(f.padding_waste.decode.fraction)}; ` +
      `peak RSS ${megabytes(f.peak_rss_bytes)}; ${stages} (total ${seconds(f.stage_ms.total)})`,
  ];
}

function count(n: number, word: string): string {
  if (n === 0) return '';
  return `${n} ${word}${n === 1 || word === 'info' ? '' : 's'}`;
}

export function percent(fraction: number): string {
  return `${(Math.round(fraction * 1000) / 10).toFixed(1)} %`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export function megabytes(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MB`;
}
