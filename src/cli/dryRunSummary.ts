import { formatIds } from '../diagnostics/formatIds';
import { megabytes, percent } from '../diagnostics/renderSummary';
import { DryRunResult } from '../job/dryRun';
import { plural } from '../plural';

const SHOWN_GROUPS = 10;

/** The stderr lines of --dry-run: totals, the memory plan and the planned prefill groups (findings follow separately). */
export function renderDryRun(result: DryRunResult): string {
  const { memory, groups } = result;
  const sizes = new Map<number, number>();
  for (const group of groups) sizes.set(group.ids.length, (sizes.get(group.ids.length) ?? 0) + 1);
  const positions = groups.reduce((sum, g) => sum + g.positions, 0);
  const steps = groups.reduce((sum, g) => sum + g.steps, 0);
  const real = groups.reduce((sum, g) => sum + g.promptTokens, 0);
  const lines = [
    `dry run: ${plural(result.requests, 'request')} to run${result.refused > 0 ? `, ${result.refused} refused` : ''}; ` +
      `${plural(result.promptTokens, 'prompt token')}, at most ${plural(result.maxCompletionTokens, 'completion token')}; nothing generated`,
    `memory: budget ${megabytes(memory.budgetBytes)}; KV ${memory.kvBytesPerToken} bytes per token; prefill ≤ ${memory.maxBatchTokens} tokens per step; ` +
      `cache ≤ ${memory.maxCacheTokens} tokens (logits ${result.logits === 'one-per-row' ? 'one row per sequence' : 'at every prompt position'})`,
    `planned: ${plural(groups.length, 'prefill group')} at batch size ≤ ${result.batchSize} ` +
      `(sizes ${[...sizes].sort(([a], [b]) => b - a).map(([size, n]) => `${size}: ${n}`).join(', ') || 'none'}), ` +
      `${plural(steps, 'prefill step')}, ${positions} prefill positions (padding ${percent(positions > 0 ? (positions - real) / positions : 0)}), ` +
      'assuming every output runs to max_tokens',
    ...groups.slice(0, SHOWN_GROUPS).map((g, i) => `  group ${i + 1}: ${plural(g.ids.length, 'sequence')}, ${g.positions} positions in ${plural(g.steps, 'step')}: ${formatIds(g.ids)}`),
  ];
  if (groups.length > SHOWN_GROUPS) lines.push(`  … ${groups.length - SHOWN_GROUPS} more`);
  lines.push(prefixLine(result.prefix));
  const structured = structuredLine(result.structured);
  if (structured) lines.push(structured);
  return lines.map((line) => `qwen-gen: ${line}`).join('\n') + '\n';
}

/** Structured outputs: how many requests are constrained, by kind, and what compiling their grammars took. */
function structuredLine(stats: DryRunResult['structured']): string | null {
  const kinds = Object.entries(stats.requests).filter(([, n]) => n > 0);
  if (kinds.length === 0) return null;
  const total = kinds.reduce((sum, [, n]) => sum + n, 0);
  return (
    `structured outputs: ${total} request(s) constrained (${kinds.map(([kind, n]) => `${kind} ${n}`).join(', ')}); ` +
    `${stats.grammarsCompiled} grammar(s) compiled in ${Math.round(stats.compileMs)} ms, tokenizer info ${Math.round(stats.tokenizerInfoMs)} ms`
  );
}

function prefixLine(prefix: DryRunResult['prefix']): string {
  if (!prefix) return 'prefix cache: off (--no-prefix-cache); the planned groups above are the prefills';
  if (prefix.sharing === 0) return 'prefix cache: no prompts share a prefix of 16 tokens or more';
  return (
    `prefix cache: ${prefix.sharing} prompt(s) start from a shared prefix; ${prefix.computed} of ${prefix.promptTokens} prompt tokens to compute ` +
    `(${prefix.reused} reused, ${percent(prefix.reused / prefix.promptTokens)}; ${plural(prefix.evictions, 'eviction')}) — if the run's exactness check ` +
    'passes on this graph (it needs the model: where a split prefill is not bit-identical, the run turns prefix caching off)'
  );
}
