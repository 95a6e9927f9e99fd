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
  DOCUMENTS: string[];
};
const { summarizeRuns } = require('../../bench/summary.js') as { summarizeRuns: (runs: Run[], o?: { usefulTokens?: number }) => Record<string, Record<string, unknown>> };
const { renderResult } = require('../../bench/tables.js') as { renderResult: (r: Result, o: { file: string | null }) => string };
/* eslint-enable @typescript-eslint/no-require-imports */

type Result = Record<string, unknown> & { key: string; date: string };
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
    expect(tables.unbackedMeasurements(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8'))).toEqual([]);
  });

  test('negative controls: an edited figure inside a block, and a figure typed outside one, are both caught', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const results = tables.loadResults();
    const generated = tables.regenerate(readme, results).text;
    // A figure changed by hand inside a generated block: the block no longer matches its results.
    const edited = generated.replace(/(<!-- bench-table: shared\/fp32 -->\n)/, '$1Measured: 123.4 s.\n');
    expect(tables.regenerate(edited, results).changed).toContain('shared/fp32');
    // A measurement typed into the prose of the Performance section or the W-shared benchmark paragraph.
    expect(tables.unbackedMeasurements(readme.replace('#### Where the time goes\n', '#### Where the time goes\n\nA decode step takes 214 ms.\n'))
      .map((m) => m.match)).toEqual(['214 ms']);
    expect(tables.unbackedMeasurements(readme.replace('**Benchmark.** Workload W-shared', '**Benchmark.** (2.29× faster) Workload W-shared'))
      .map((m) => m.match)).toEqual(['2.29×']);
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
