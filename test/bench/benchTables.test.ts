import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from '../helpers/testModels';

/**
 * The README's performance numbers are generated from committed results files (scripts/bench-tables.js): this test fails
 * when a generated block differs from what bench/results/ gives, or when a measurement appears in the performance text
 * outside a generated block. It also checks the rules the tables follow: medians with their range, and an engine with
 * an unfinished repetition shown as unfinished, never as a median or a ratio.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const tables = require('../../scripts/bench-tables.js') as {
  loadResults: (dir?: string) => { file: string; result: Result }[];
  regenerate: (text: string, results: { file: string; result: Result }[]) => { text: string; changed: string[] };
  unbackedMeasurements: (readme: string) => { match: string; context: string }[];
  missingSections: (readme: string) => string[];
  DOCUMENTS: string[];
};
const { summarizeRuns, ratio } = require('../../bench/summary.js') as {
  summarizeRuns: (runs: Run[], o?: { usefulTokens?: number }) => Record<string, Record<string, unknown>>;
  ratio: (summary: Record<string, unknown>, a: string, b: string, figure?: string) => number | null;
};
const { renderResult } = require('../../bench/tables.js') as { renderResult: (r: Result, o: { file: string | null }) => string };
const { optionComparison } = require('../../bench/optionChoices.js') as {
  optionComparison: (name: string, summary: Record<string, Record<string, unknown>>, shipped: LastRun | null, alternative: LastRun | null) => Record<string, unknown>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

type Result = Record<string, unknown> & { key: string; date: string };
interface LastRun {
  report: unknown;
  outputs: { id: string; tokens: number[] }[];
}
interface Run {
  engine: string;
  finished: boolean;
  status: string;
  wall_s: number;
  peak_rss_bytes: number;
  outputs_sha256: string;
  load_s?: number;
  prefill_s?: number;
  decode_s?: number;
}

const REPO = path.join(__dirname, '..', '..');

describe('README performance tables and bench/results', () => {
  test('every generated block equals what the committed results files give', () => {
    const results = tables.loadResults();
    for (const doc of tables.DOCUMENTS) {
      const text = fs.readFileSync(path.join(REPO, doc), 'utf8');
      expect(text).toContain('<!-- bench-table:');
      expect({ doc, changed: tables.regenerate(text, results).changed }).toEqual({ doc, changed: [] });
    }
  });

  test('no measurement in the performance text outside the generated blocks', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    expect(tables.missingSections(readme)).toEqual([]);
    expect(tables.unbackedMeasurements(readme)).toEqual([]);
    // The session-option decisions are a generated table in the Quantized models section.
    expect(readme).toMatch(/### Quantized models: session options and derived graphs\n[\s\S]*<!-- bench-table: options\/fp32,options\/q8,options\/q4 -->/);
    // The structured-output overhead (issue 20's target) is a generated table in the Structured outputs section.
    expect(readme).toMatch(/## Structured outputs\n[\s\S]*<!-- bench-table: structured\/fp32 -->[\s\S]*\n## Output\n/);
  });

  test('negative controls: an edited figure inside a block, and a figure typed outside one, are both caught', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const results = tables.loadResults();
    const generated = tables.regenerate(readme, results).text;
    // A figure changed by hand inside a generated block: the block no longer matches its results.
    const edited = generated.replace(/(<!-- bench-table: shared\/fp32,shared\/q4,shared\/q8 -->\n)/, '$1Measured: 123.4 s.\n');
    expect(edited).not.toBe(generated);
    expect(tables.regenerate(edited, results).changed).toContain('shared/fp32,shared/q4,shared/q8');
    // A measurement typed into the prose of the Performance section or the W-shared benchmark paragraph.
    expect(tables.unbackedMeasurements(readme.replace('#### Where the time goes\n', '#### Where the time goes\n\nA decode step takes 214 ms.\n'))
      .map((m) => m.match)).toEqual(['214 ms']);
    expect(tables.unbackedMeasurements(readme.replace('**Benchmark.** Workload W-shared', '**Benchmark.** (2.29× faster) Workload W-shared'))
      .map((m) => m.match)).toEqual(['2.29×']);
    // … and into the Quantized models section, prose or its own hand-made table.
    expect(tables.unbackedMeasurements(readme.replace('Intra-op spinning is off and', 'Intra-op spinning (3.1× slower under load) is off and'))
      .map((m) => m.match)).toEqual(['3.1×']);
    expect(tables.unbackedMeasurements(readme.replace('| fp32, fp16 | `MatMul` / `Gemm` | on |', '| fp32, fp16 | `MatMul` / `Gemm` | on (load 2.4 s) |'))
      .map((m) => m.match)).toEqual(['2.4 s']);
    // … and into the Structured outputs section.
    expect(tables.unbackedMeasurements(readme.replace('**Overhead.** `node bench/run.js structured`', '**Overhead.** (0.87 % of the step) `node bench/run.js structured`'))
      .map((m) => m.match)).toEqual(['0.87 %']);
    // A covered section renamed away is named, not silently dropped from the rule.
    expect(tables.missingSections(readme.replace('### Quantized models: session options and derived graphs', '### Quantized files'))).toEqual(['### Quantized models: session options and derived graphs']);
  });
});

/** A compare results file as bench/run.js writes it, for three interleaved repetitions of two or three engines. */
function compareResult(runs: Run[], key = 'compare/long/fp32'): Result {
  const summary = summarizeRuns(runs, { usefulTokens: 960 });
  for (const engine of Object.keys(summary)) {
    const a = summary[engine] as { complete: boolean; wall_s: { median: number } };
    const base = summary['qwen-gen'] as { complete: boolean; wall_s: { median: number } };
    summary[engine].wall_ratio_vs_qwen_gen = engine !== 'qwen-gen' && a.complete && base.complete ? a.wall_s.median / base.wall_s.median : null;
    summary[engine].wall_ratio_vs_qwen_gen_same_graph = null;
  }
  return {
    schema: 'qwen-gen-bench-results/1', name: 'compare-long-fp32', key, part: 'compare', quick: false, label: null,
    command: 'node bench/run.js compare --workload long --dtype fp32 --reps 3 --threads 2', date: '2026-12-08T10:00:00.000Z',
    git: { commit: 'abcdef1234567890', dirty: [] },
    machine: { cpu_model: 'Test CPU', cpus: 2, memory_bytes: 24 * 2 ** 30, bandwidth: { used_bytes_per_s: 2e10 }, load_average: { mean: 0.5, max: 1 }, busy: false },
    settings: { reps: 3, threads: 2, batch_size: 8, time_limit_s: 3600, seed: 1 },
    model: { dtype_label: 'fp32 (llama.cpp F32)', seed: 1234 },
    workload: { name: 'long', requests: 8, prompt_tokens: { min: 300, max: 450 }, max_tokens: { min: 112, max: 128, total: 960 }, useful_tokens: 960, batch_size: 8 },
    engines: Object.fromEntries([...new Set(runs.map((r) => r.engine))].map((e) => [e, { label: e }])),
    runs, summary, checks: {}, disclosures: [],
  };
}

const run = (engine: string, wall: number, finished = true, status = 'ok'): Run => ({
  engine, finished, status, wall_s: wall, peak_rss_bytes: 4e9, outputs_sha256: 'x', load_s: 1, prefill_s: 2, decode_s: wall - 3,
});

describe('table rules', () => {
  test('median of the repetitions with its range; ratio of medians when both sides finished every run', () => {
    const text = renderResult(compareResult([run('qwen-gen', 10), run('llama.cpp', 40), run('qwen-gen', 30), run('llama.cpp', 20), run('qwen-gen', 20), run('llama.cpp', 30)]), { file: 'bench/results/x.json' });
    const row = (name: string) => text.split('\n').find((l) => l.startsWith(`| ${name} |`))!;
    expect(row('qwen-gen')).toContain('| 20.0 (10.0–30.0) |');
    expect(row('llama.cpp')).toContain('| 30.0 (20.0–40.0) |');
    expect(row('llama.cpp')).toContain('| 1.50× |');
    expect(text).toContain('`bench/results/x.json`');
    expect(text).toContain('`node bench/run.js compare --workload long --dtype fp32 --reps 3 --threads 2`');
  });

  test('an engine with an unfinished repetition is shown unfinished, with no median and no ratio (negative control: all finished)', () => {
    const runs = [run('qwen-gen', 10), run('tjs-gqa', 300), run('qwen-gen', 11), run('tjs-gqa', 3600, false, 'time limit'), run('qwen-gen', 12), run('tjs-gqa', 310)];
    const text = renderResult(compareResult(runs), { file: null });
    const row = text.split('\n').find((l) => l.startsWith('| tjs-gqa |'))!;
    expect(row).toContain('**unfinished** (1 of 3 runs: over the 3,600 s time limit)');
    expect(row).not.toMatch(/\d×/);
    expect(row).not.toContain('300.0');
    const allFinished = renderResult(compareResult(runs.map((r) => ({ ...r, finished: true, status: 'ok' }))), { file: null });
    expect(allFinished.split('\n').find((l) => l.startsWith('| tjs-gqa |'))).toMatch(/\d\.\d\d×/);
  });

  test('quick and labelled results never feed the tables; a key without results names the command', () => {
    const dir = tempDir('bench-results');
    const base = compareResult([run('qwen-gen', 10), run('qwen-gen', 11), run('qwen-gen', 12)]);
    fs.writeFileSync(path.join(dir, 'a.json'), JSON.stringify({ ...base, quick: true }));
    fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify({ ...base, label: 'sanity' }));
    expect(tables.loadResults(dir)).toEqual([]);
    fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify(base));
    fs.writeFileSync(path.join(dir, 'd.json'), JSON.stringify({ ...base, date: '2026-12-09T10:00:00.000Z', command: 'newer' }));
    const loaded = tables.loadResults(dir);
    expect(loaded.map((e) => e.result.command)).toEqual(['newer', base.command]);
    const doc = '<!-- bench-table: compare/long/fp32,compare/W64/q4 -->\n<!-- /bench-table -->';
    const out = tables.regenerate(doc, loaded).text;
    expect(out).toContain('`newer`');
    expect(out).toContain('Not measured yet (compare/W64/q4): `node bench/run.js compare --workload W64 --dtype q4`');
  });
});

/** A report as the CLI writes it, with the settings the options part checks. */
function report({ prepacking = true, spinning = false, rewrites = ['gathered_logits', 'matmulnbits_accuracy_level', 'quantized_lm_head'] } = {}) {
  return { model: { runtime: { session_options: { prepacking, intra_op_spinning: spinning } }, derived_graph: { rewrites: rewrites.map((name) => ({ name })) } } };
}

const tokens = (seed: number) => [{ id: 'w000', tokens: [seed, 2, 3] }, { id: 'w001', tokens: [4, 5, 6] }];

interface OptionRun extends Run {
  decode_ms_per_step: number;
  decode_steps: number;
  cpu_s: number;
}

const optionRun = (engine: string, wall: number, finished = true, status = 'ok'): OptionRun => ({
  ...run(engine, wall, finished, status), decode_ms_per_step: (wall - 3) * 10, decode_steps: 100, cpu_s: 2 * wall,
});

/** An options results file as bench/parts/options.js writes it: runs, summary, and each option's comparison. */
function optionsResult(dtype: string, runs: OptionRun[], last: Record<string, LastRun>, options: string[], date = '2026-12-08T10:00:00.000Z'): Result {
  const summary = summarizeRuns(runs as unknown as Run[], { figures: ['wall_s', 'load_s', 'prefill_s', 'decode_s', 'decode_ms_per_step', 'decode_steps', 'cpu_s'] } as never);
  const config: Record<string, string> = { prepacking: 'prepacking-off', spinning: 'spinning-on', 'accuracy-level': 'accuracy-level-0', 'lm-head': 'lm-head-float' };
  return {
    ...compareResult([]), name: `options-${dtype}`, key: `options/${dtype}`, part: 'options', dtype, date, options,
    command: `node bench/run.js options --dtype ${dtype} --options ${options.join(',')} --reps 3 --threads 2`,
    engines: Object.fromEntries(['shipped', ...options.map((o) => config[o])].map((e) => [e, { label: e }])),
    runs, summary, disclosures: [],
    comparisons: Object.fromEntries(options.map((o) => [o, optionComparison(o, summary, last.shipped ?? null, last[config[o]] ?? null)])),
  };
}

describe('session-option table rules (part options)', () => {
  const walls = { shipped: [11, 10, 12], 'prepacking-off': [22, 24, 20] };
  const interleave = (unfinishedAlt = false) => [0, 1, 2].flatMap((i) => [
    optionRun('shipped', walls.shipped[i]),
    optionRun('prepacking-off', walls['prepacking-off'][i], !(unfinishedAlt && i === 1), unfinishedAlt && i === 1 ? 'time limit' : 'ok'),
  ]);
  const rowOf = (text: string, option: string) => text.split('\n').find((l) => l.startsWith(`| ${option}`))!;

  test('the alternative\'s median ÷ the shipped median, with both ranges and the token agreement', () => {
    const result = optionsResult('q4', interleave(), { shipped: { report: report(), outputs: tokens(1) }, 'prepacking-off': { report: report({ prepacking: false }), outputs: tokens(9) } }, ['prepacking']);
    const row = rowOf(renderResult(result, { file: 'bench/results/o.json' }), 'prepacking');
    expect(row).toContain('| q4 | 11.0 (10.0–12.0) | 22.0 (20.0–24.0) |');
    // wall 22 / 11; decode (wall − 3): 19 / 8.
    expect(row).toContain(`| 2.00× / ${(19 / 8).toFixed(2)}× |`);
    expect(row).toContain('| 80 vs 190 |');
    expect(row).toMatch(/\| 1\/2 \|$/);
  });

  test('an alternative with an unfinished repetition gets no median and no ratio (negative control: all finished)', () => {
    const last = { shipped: { report: report(), outputs: tokens(1) }, 'prepacking-off': { report: report({ prepacking: false }), outputs: tokens(1) } };
    const row = rowOf(renderResult(optionsResult('q4', interleave(true), last, ['prepacking']), { file: null }), 'prepacking');
    expect(row).toContain('**unfinished** (1 of 3 runs: over the 3,600 s time limit)');
    expect(row).not.toMatch(/\d\.\d\d×/);
    expect(row).not.toContain('(20.0–24.0)');
    expect(rowOf(renderResult(optionsResult('q4', interleave(false), last, ['prepacking']), { file: null }), 'prepacking')).toMatch(/\d\.\d\d×/);
  });

  test('a switch the report does not show in effect gives no ratio (negative control: in effect)', () => {
    const noEffect = optionsResult('q4', interleave(), { shipped: { report: report(), outputs: tokens(1) }, 'prepacking-off': { report: report({ prepacking: true }), outputs: tokens(1) } }, ['prepacking']);
    const row = rowOf(renderResult(noEffect, { file: null }), 'prepacking');
    expect(row).toContain('**switch not in effect** (alternative run\'s report)');
    expect(row).not.toMatch(/\d\.\d\d×/);
    expect((noEffect.comparisons as Record<string, { wall_ratio: unknown }>).prepacking.wall_ratio).toBeNull();
    // The same check on a rewrite: the float lm_head run must not list quantized_lm_head.
    const lmRuns = [0, 1, 2].flatMap((i) => [optionRun('shipped', walls.shipped[i]), optionRun('lm-head-float', 12 + i)]);
    const stillQuantized = optionsResult('q4', lmRuns, { shipped: { report: report(), outputs: tokens(1) }, 'lm-head-float': { report: report(), outputs: tokens(1) } }, ['lm-head']);
    expect((stillQuantized.comparisons as Record<string, { wall_ratio: unknown }>)['lm-head'].wall_ratio).toBeNull();
    const floatHead = optionsResult('q4', lmRuns, { shipped: { report: report(), outputs: tokens(1) }, 'lm-head-float': { report: report({ rewrites: ['gathered_logits', 'matmulnbits_accuracy_level'] }), outputs: tokens(1) } }, ['lm-head']);
    expect((floatHead.comparisons as Record<string, { wall_ratio: number }>)['lm-head'].wall_ratio).toBeCloseTo(13 / 11, 10);
  });

  test('a block of options keys: each row from the newest file that measured it; an option no file has names its command', () => {
    const last = (alt: string, altReport: unknown) => ({ shipped: { report: report(), outputs: tokens(1) }, [alt]: { report: altReport, outputs: tokens(1) } });
    const older = optionsResult('q4', [...interleave(), ...[0, 1, 2].map((i) => optionRun('lm-head-float', 30 + i))],
      { ...last('prepacking-off', report({ prepacking: false })), 'lm-head-float': { report: report({ rewrites: ['gathered_logits'] }), outputs: tokens(1) } },
      ['prepacking', 'lm-head'], '2026-12-08T10:00:00.000Z');
    const newerRuns = [0, 1, 2].flatMap((i) => [optionRun('shipped', 40), optionRun('lm-head-float', 50 + i)]);
    const newer = optionsResult('q4', newerRuns, last('lm-head-float', report({ rewrites: ['gathered_logits'] })), ['lm-head'], '2026-12-09T10:00:00.000Z');
    const dir = tempDir('bench-options');
    fs.writeFileSync(path.join(dir, 'older.json'), JSON.stringify(older));
    fs.writeFileSync(path.join(dir, 'newer.json'), JSON.stringify(newer));
    const doc = '<!-- bench-table: options/q4 -->\n<!-- /bench-table -->';
    const text = tables.regenerate(doc, tables.loadResults(dir)).text;
    expect(rowOf(text, 'prepacking')).toContain('| 22.0 (20.0–24.0) |');
    expect(rowOf(text, 'lm_head')).toContain('| 40.0 (40.0–40.0) | 51.0 (50.0–52.0) |');
    expect(rowOf(text, 'lm_head')).not.toContain('31.0');
    expect(rowOf(text, 'intra-op spinning')).toContain('not measured yet: `node bench/run.js options --dtype q4 --options spinning`');
    expect(rowOf(text, 'MatMulNBits accuracy level')).toContain('--options accuracy-level');
    expect(text).toContain('older.json');
    expect(text).toContain('newer.json');
  });
});

describe('structured-output table rules (part structured)', () => {
  const structuredRun = (engine: string, stepMs: number, criticalMs: number, finished = true, status = 'ok') => ({
    engine, finished, status, wall_s: 20, cpu_s: 40, peak_rss_bytes: 4e9, decode_ms_per_step: stepMs,
    ...(engine === 'constrained' ? { mask_ms_per_step: criticalMs + 3, bitmask_ms_per_step: 3, apply_ms_per_step: criticalMs, wait_ms_per_step: 0,
      critical_ms_per_step: criticalMs, mask_share: (criticalMs + 3) / stepMs, critical_share: criticalMs / stepMs, compile_ms: 50, tokenizer_info_ms: 250 } : {}),
  });
  const structuredResult = (runs: ReturnType<typeof structuredRun>[]) => {
    const summary = summarizeRuns(runs as unknown as Run[], { figures: ['wall_s', 'cpu_s', 'decode_ms_per_step', 'mask_ms_per_step', 'bitmask_ms_per_step',
      'apply_ms_per_step', 'wait_ms_per_step', 'critical_ms_per_step', 'mask_share', 'critical_share', 'compile_ms', 'tokenizer_info_ms'] } as never);
    const base = compareResult([]);
    return { ...base, name: 'structured-fp32', key: 'structured/fp32', part: 'structured', dtype: 'fp32', command: 'node bench/run.js structured --dtype fp32 --reps 3 --threads 2',
      workload: { requests: 24, batch_size: 8, max_tokens: 32, what: 'test' }, target_critical_share: 0.05,
      engines: { constrained: { label: 'every row constrained' }, unconstrained: { label: 'no constraint' } },
      step_ratio: ratio(summary, 'constrained', 'unconstrained', 'decode_ms_per_step'), runs, summary };
  };

  test('the critical path\'s median share of the step against the 5 % target, ranges of the repetitions', () => {
    const text = renderResult(structuredResult([structuredRun('constrained', 100, 2), structuredRun('unconstrained', 98, 0),
      structuredRun('constrained', 110, 4), structuredRun('unconstrained', 105, 0), structuredRun('constrained', 120, 3), structuredRun('unconstrained', 112, 0)]) as never, { file: null });
    // Shares per run: 2/100, 4/110, 3/120 — the median is 3/120 = 2.5 %.
    expect(text).toContain('3.00 ms (2.00–4.00), **2.5 %**');
    expect(text).toContain('| decode step | 110.0 ms (100.0–120.0) | 105.0 ms (98.0–112.0) |');
    expect(text).toContain('Constrained ÷ unconstrained decode step: 1.05×');
    expect(text).toMatch(/≤ 5\.0 % of the step — met\./);
    const slow = renderResult(structuredResult([structuredRun('constrained', 100, 8), structuredRun('unconstrained', 98, 0),
      structuredRun('constrained', 100, 9), structuredRun('unconstrained', 98, 0), structuredRun('constrained', 100, 7), structuredRun('unconstrained', 98, 0)]) as never, { file: null });
    expect(slow).toContain('— **not met**.');
  });

  test('an unfinished constrained run gives no share, no ratio and no verdict (negative control above: all finished)', () => {
    const text = renderResult(structuredResult([structuredRun('constrained', 100, 2), structuredRun('unconstrained', 98, 0),
      structuredRun('constrained', 100, 2, false, 'exit 1'), structuredRun('unconstrained', 98, 0), structuredRun('constrained', 100, 2), structuredRun('unconstrained', 98, 0)]) as never, { file: null });
    expect(text).toContain('**unfinished** (1 of 3 runs: exit 1)');
    expect(text).not.toMatch(/\*\*\d+\.\d %\*\*/);
    expect(text).toContain('Constrained ÷ unconstrained decode step: —');
    expect(text).toContain('— not measured.');
  });
});

describe('W-shared table rules (part shared)', () => {
  const sharedResult = (runs: Run[]) => {
    const base = compareResult(runs, 'shared/q4');
    return { ...base, name: 'shared-q4', part: 'shared', dtype: 'q4', command: 'node bench/run.js shared --dtype q4 --reps 3 --threads 2',
      workload: { requests: 64, shared_tokens: 1000, question_token_range: [20, 80], max_tokens: { max: 32 }, batch_size: 8 },
      engines: { 'qwen-gen': { label: 'qwen-gen' }, 'qwen-gen-no-cache': { label: 'qwen-gen --no-prefix-cache' } },
      checks: { prompt_tokens_computed: { with_cache: 4000, without_cache: 64000 }, greedy_tokens_identical_with_and_without_cache: '64/64' } };
  };
  const reps = (cached: number, uncached: number, uncachedFinished = true) => [1, 2, 3].flatMap((i) => [
    run('qwen-gen', cached + i), run('qwen-gen-no-cache', uncached + i, uncachedFinished || i !== 2, uncachedFinished || i !== 2 ? 'ok' : 'time limit')]);

  test('the ratio of the median wall times against the 4× target: met at 4.1×, not met at 3.9×', () => {
    const met = renderResult(sharedResult(reps(49, 205)) as never, { file: null });
    // Medians 51 and 207: 207 / 51 = 4.06.
    expect(met).toContain('(ratio of the median wall times: 4.06×) — met.');
    const slow = renderResult(sharedResult(reps(49, 195)) as never, { file: null });
    expect(slow).toContain('(ratio of the median wall times: 3.86×) — **not met**.');
  });

  test('an unfinished uncached run gives no ratio and no verdict', () => {
    const text = renderResult(sharedResult(reps(49, 205, false)) as never, { file: null });
    expect(text).toContain('(ratio of the median wall times: —) — not measured.');
  });
});
