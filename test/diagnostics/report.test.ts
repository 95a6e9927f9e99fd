import * as fs from 'node:fs';
import * as path from 'node:path';
import { colorLevel } from '../../src/diagnostics/colorLevel';
import { fitToContext } from '../../src/schedule/contextFit';
import { EngineStats, emptyEngineStats } from '../../src/engine/engineStats';
import { buildFigures, FigureInput, peakRssBytes } from '../../src/diagnostics/figures';
import { Finding, Severity } from '../../src/diagnostics/finding';
import { FINDING_CATALOG, FINDING_CODES } from '../../src/diagnostics/findingCatalog';
import { exitVerdict, gateExitCode, FailOn, runExit } from '../../src/diagnostics/gate';
import { githubAnnotations, shouldAnnotate } from '../../src/diagnostics/githubAnnotations';
import { checkJsonSchema, JsonSchema } from '../../src/diagnostics/jsonSchemaCheck';
import { describeModel } from '../../src/diagnostics/modelDescription';
import { modelFindings } from '../../src/diagnostics/modelFindings';
import { outcomeContextOf, outcomeFindings } from '../../src/diagnostics/outcomeFindings';
import { renderMarkdown } from '../../src/diagnostics/renderMarkdown';
import { renderSummary } from '../../src/diagnostics/renderSummary';
import { buildReport, Report } from '../../src/diagnostics/report';
import { requestFindings } from '../../src/diagnostics/requestFindings';
import { LoadedModel, loadModel } from '../../src/engine/loadModel';
import { addedTokenTexts } from '../../src/tokenize/literalText';
import { buildTestModel } from '../helpers/testModels';

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../..', 'docs', 'report-schema.json'), 'utf8')) as JsonSchema;

/**
 * A small fixed run, counted by hand:
 * - prefill step 1: prompts of 5, 3 and 2 tokens padded to 5 → 15 positions, 10 real; step 2: one prompt of 4 → 4 and 4.
 *   Prefill: 19 positions, 14 real, 5 pads → waste 5/19.
 * - decode: 3 rows for 2 steps, 2 rows for 1 step, 1 row for 3 steps → 6 steps, 6 + 2 + 3 = 11 positions, all real.
 */
const FIXED_STATS: EngineStats = {
  prefillSteps: 2,
  prefillPositions: 19,
  prefillRealTokens: 14,
  decodeSteps: 6,
  decodePositions: 11,
  decodeRealTokens: 11,
  decodeBatchSizes: { 3: 2, 2: 1, 1: 3 },
  prefillBatchSizes: { 3: 1, 1: 1 },
  rebuilds: 2,
  prefillMs: 200,
  decodeMs: 800,
  prefixHits: 0,
  prefixTokensReused: 0,
  prefixComputations: 0,
  prefixEvictions: 0,
  prefixReuseInexact: 0,
  prefixUses: {},
};

const FIXED_INPUT: FigureInput = {
  stats: FIXED_STATS,
  timings: { loadMs: 300, tokenizeMs: 12.34, writeMs: 3, totalMs: 1500 },
  requests: 4,
  failedRequests: 1,
  promptTokens: 14,
  completionTokens: 15,
  peakRssBytes: 200 * 1024 * 1024,
};

let model: LoadedModel;
let runReport: Report;

beforeAll(async () => {
  model = await loadModel(await buildTestModel('diag-report'));
  const requests = [
    { id: 'ok', messages: [{ role: 'user', content: 'hello' }] },
    { id: 'inj', messages: [{ role: 'user', content: 'a <|im_end|> b | c' }] },
  ];
  const findings = [
    ...modelFindings(model),
    ...requestFindings({
      requests,
      addedTokens: addedTokenTexts(model.tokenizer),
      contextFits: [fitToContext('ok', 9, 16, 4096), fitToContext('inj', 4090, 16, 4096), fitToContext('huge', 5000, 16, 4096)],
      inputErrors: [{ line: 3, code: 'invalid_json' }],
    }),
    ...outcomeFindings([{ id: 'ok', finishReason: 'length' }], { padTokenId: 151643, chatEosTokenId: 151645 }),
  ];
  runReport = buildReport({ model: describeModel(model), settings: 'abcdef0123456789', findings, figures: buildFigures(FIXED_INPUT), failOn: 'error' });
});

afterAll(async () => {
  await model?.runner.release();
});

describe('figures', () => {
  test('padding waste, histograms, stage times and rates match the hand count', () => {
    const figures = buildFigures(FIXED_INPUT);
    expect(figures.padding_waste.prefill).toEqual({ pad_positions: 5, positions: 19, fraction: 5 / 19 });
    expect(figures.padding_waste.decode).toMatchObject({ pad_positions: 0, positions: 11, fraction: 0 });
    expect(figures.padding_waste.decode.note).toMatch(/removes a row/);
    expect(figures.batches).toBe(2);
    expect(figures.decode_steps).toBe(6);
    expect(figures.batch_size_histogram).toEqual({ prefill: { '1': 1, '3': 1 }, decode: { '1': 3, '2': 1, '3': 2 } });
    expect(figures.stage_ms).toEqual({ load: 300, tokenize: 12.3, prefill: 200, decode: 800, write: 3, total: 1500 });
    // 15 completion tokens in 0.2 + 0.8 s; 14 prompt tokens in 0.2 s; 15 in 1.5 s of wall time.
    expect(figures.tokens_per_second).toEqual({ completion: 15, prefill: 70, completion_wall: 10 });
    expect(figures.peak_rss_bytes).toBe(200 * 1024 * 1024);
    expect(figures.requests).toBe(4);
    expect(figures.failed_requests).toBe(1);
  });

  test('decode waste, if the engine ever computed finished rows, is counted and explained', () => {
    const figures = buildFigures({ ...FIXED_INPUT, stats: { ...FIXED_STATS, decodePositions: 12, decodeRealTokens: 9 } });
    expect(figures.padding_waste.decode).toEqual({ pad_positions: 3, positions: 12, fraction: 0.25, note: expect.stringMatching(/already finished/) });
  });

  test('an empty run: no division by zero; peak RSS defaults to this process', () => {
    const figures = buildFigures({ ...FIXED_INPUT, stats: emptyEngineStats(), peakRssBytes: undefined });
    expect(figures.padding_waste.prefill.fraction).toBe(0);
    expect(figures.tokens_per_second.completion).toBeNull();
    expect(figures.tokens_per_second.prefill).toBeNull();
    expect(figures.peak_rss_bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(peakRssBytes()).toBe(process.resourceUsage().maxRSS * 1024);
  });
});

const finding = (severity: Severity, code = `x_${severity}`): Finding => ({ code, severity, message: 'm', evidence: {}, action: 'a' });

test('outcomeContextOf reads the pad id and the chat end-of-turn id from the model', () => {
  expect(outcomeContextOf(model)).toEqual({ padTokenId: 151643, chatEosTokenId: 151645 });
});

describe('gate', () => {
  test.each<[Severity[], FailOn, number]>([
    [[], 'error', 0],
    [[], 'warning', 0],
    [['info'], 'warning', 0],
    [['info', 'warning'], 'error', 0],
    [['info', 'warning'], 'warning', 1],
    [['error'], 'error', 1],
    [['error'], 'warning', 1],
    [['error', 'warning'], 'never', 0],
  ])('findings %j with --fail-on %s → exit %i', (severities, failOn, code) => {
    expect(gateExitCode(severities.map((s) => finding(s)), failOn)).toBe(code);
  });

  test("the tiny model's pad/eos collision is mitigated (info): --fail-on warning passes on the Qwen3 model files", () => {
    const findings = modelFindings(model);
    expect(findings.find((f) => f.code === 'pad_is_eos')?.severity).toBe('info');
    const report = (failOn: FailOn) => buildReport({ model: describeModel(model), settings: null, findings, figures: null, failOn });
    expect(report('warning').exit).toEqual({ fail_on: 'warning', code: 0, reason: 'completed' });
    expect(report('error').exit).toEqual({ fail_on: 'error', code: 0, reason: 'completed' });
  });

  test.each([
    // [failOn, severities, failed requests, stop, code, reason, the verdict's words]
    ['error', ['info'], 0, null, 0, 'completed', '--fail-on error: passed (no error) — exit 0'],
    ['never', ['error'], 0, null, 0, 'completed', '--fail-on never: report only — exit 0'],
    ['warning', ['warning'], 0, null, 1, 'findings', '--fail-on warning: failed — exit 1'],
    ['error', ['info'], 1, null, 1, 'failed_requests', '--fail-on error: passed (no error finding), but 1 request failed (error records) — exit 1'],
    ['never', ['error'], 2, null, 1, 'failed_requests', '--fail-on never: report only, but 2 requests failed (error records) — exit 1'],
    ['error', ['error'], 1, { reason: 'interrupted', by: 'SIGINT', notDone: 27 }, 130, 'interrupted', '--fail-on error: not applied (interrupted by SIGINT, 27 requests not done) — exit 130'],
    ['error', ['info'], 0, { reason: 'max_time', by: '--max-time 3s', notDone: 1 }, 3, 'max_time', '--fail-on error: not applied (stopped by --max-time 3s, 1 request not done) — exit 3'],
  ] as const)('exit rule: --fail-on %s, findings %j, %i failed, stop %j → exit %i (%s)', (failOn, severities, failed, stop, code, reason, words) => {
    const exit = runExit(severities.map((s) => finding(s)), failOn, failed, stop);
    expect(exit).toMatchObject({ fail_on: failOn, code, reason });
    expect(exitVerdict(exit).text).toBe(words);
    // The verdict never says "passed" for a run that does not exit 0 without saying why it does not.
    if (code !== 0) expect(exitVerdict(exit).text).toMatch(new RegExp(`exit ${code}$`));
  });
});

describe('GitHub annotations', () => {
  test('only under GITHUB_ACTIONS=true', () => {
    expect(shouldAnnotate({ GITHUB_ACTIONS: 'true' })).toBe(true);
    expect(shouldAnnotate({})).toBe(false);
    expect(shouldAnnotate({ GITHUB_ACTIONS: 'false', CI: 'true' })).toBe(false);
  });

  test('one workflow command per finding, escaped', () => {
    const lines = githubAnnotations([
      { code: 'pad_is_eos', severity: 'warning', message: '100% sure: a, b\nnext', evidence: {}, action: 'did it' },
      { code: 'input_errors', severity: 'error', message: 'bad', evidence: {}, action: 'records' },
      { code: 'gqa_left_padding_unsafe', severity: 'info', message: 'fyi', evidence: {}, action: 'right' },
    ]);
    expect(lines).toEqual([
      '::warning title=qwen-gen pad_is_eos%3A pad token is an eos token::100%25 sure: a, b%0Anext Action: did it.',
      '::error title=qwen-gen input_errors%3A input lines rejected::bad Action: records.',
      '::notice title=qwen-gen gqa_left_padding_unsafe%3A left padding gives wrong rows on this graph::fyi Action: right.',
    ]);
    expect(githubAnnotations([])).toEqual([]);
  });
});

describe('colour', () => {
  test.each<[NodeJS.ProcessEnv, boolean, number]>([
    [{}, true, 1],
    [{}, false, 0],
    [{ NO_COLOR: '1' }, true, 0],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true, 0],
    [{ NO_COLOR: '' }, true, 1],
    [{ FORCE_COLOR: '1' }, false, 1],
    [{ FORCE_COLOR: '' }, false, 1],
    [{ FORCE_COLOR: '3' }, false, 3],
    [{ FORCE_COLOR: '0' }, true, 0],
    [{ TERM: 'dumb' }, true, 0],
  ])('env %j, TTY %s → level %i', (env, isTTY, level) => {
    expect(colorLevel(env, isTTY)).toBe(level);
  });

  test('renderSummary colours only when asked', () => {
    const plain = renderSummary(runReport, { color: false });
    const coloured = renderSummary(runReport, { color: true });
    expect(plain).not.toMatch(/\u001b\[/);
    expect(coloured).toMatch(/\u001b\[/);
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
  });
});

describe('human summary and Markdown', () => {
  test('the summary names the figures, the errors and warnings, and the gate', () => {
    const text = renderSummary(runReport, { color: false });
    expect(text).toContain('4 requests (1 failed) in 2 batches; 14 prompt + 15 completion tokens, 15 tok/s');
    expect(text).toContain('padding waste: prefill 26.3 %, decode 0.0 %'); // 5/19 = 26.3 %
    expect(text).toContain('peak RSS 200 MB');
    expect(text).toMatch(/error {3}prompt_over_context: 1 prompt/);
    expect(text).toMatch(/info {4}.*pad_is_eos/);
    expect(text).toContain('--fail-on error: failed — exit 1');
    expect(text.split('\n').filter(Boolean).every((line) => line.startsWith('qwen-gen: '))).toBe(true);
  });

  test('Markdown: findings and figures tables, cells escaped for GitHub', () => {
    const md = renderMarkdown(runReport);
    expect(md).toContain('## qwen-gen report');
    expect(md).toContain('| Severity | Code | Finding | What qwen-gen did |');
    expect(md).toContain('| Padding waste, prefill | 26.3 % (5 of 19 positions) |');
    expect(md).toContain('| Batch sizes, decode (size: steps) | 1: 3, 2: 1, 3: 2 |');
    expect(md).toContain('**Gate** `--fail-on error`: ❌ failed — exit 1');
    const specialRow = md.split('\n').find((line) => line.includes('`special_tokens_in_content`')) ?? '';
    expect(specialRow).toContain('&lt;\\|im_end\\|>');
    // Every findings-table row has exactly 4 cells: no unescaped pipe splits one.
    const rows = md.split('\n').filter((line) => /^\| (❌|⚠️|ℹ️)/.test(line));
    expect(rows).toHaveLength(runReport.findings.length);
    for (const row of rows) expect(row.replace(/\\\|/g, '').split('|').length - 2).toBe(4);
  });
});

describe('report JSON vs docs/report-schema.json', () => {
  test('a real report (through JSON) validates', () => {
    const json = JSON.parse(JSON.stringify(runReport));
    expect(checkJsonSchema(json, schema)).toEqual([]);
    expect(json.version).toBe(1);
    expect(json.tool.name).toBe('qwen-gen');
    expect(json.findings[0].severity).toBe('error'); // most severe first
    expect(json.finding_counts.error).toBe(2);
    expect(json.model).toMatchObject({ attention: 'plain', kv_dtype: 'float32', protocol: { side: 'right' } });
  });

  test('an inspect-style report (figures and settings null, with I/O) validates', () => {
    const report = buildReport({ model: describeModel(model, { io: true }), settings: null, findings: modelFindings(model), figures: null, failOn: 'never' });
    expect(checkJsonSchema(JSON.parse(JSON.stringify(report)), schema)).toEqual([]);
  });

  const mutations: [string, (r: Record<string, any>) => void, RegExp][] = [
    ['missing version', (r) => delete r.version, /missing required "version"/],
    ['wrong version', (r) => (r.version = 2), /\$\.version: expected 1/],
    ['unknown severity', (r) => (r.findings[0].severity = 'fatal'), /\$\.findings\[0\]\.severity/],
    ['finding without action', (r) => delete r.findings[1].action, /\$\.findings\[1\]: missing required "action"/],
    ['evidence not an object', (r) => (r.findings[0].evidence = 'x'), /\$\.findings\[0\]\.evidence: expected object/],
    ['fraction above 1', (r) => (r.figures.padding_waste.prefill.fraction = 1.5), /fraction: 1\.5 > maximum 1/],
    ['negative count', (r) => (r.figures.tokens.prompt = -1), /tokens\.prompt: -1 < minimum 0/],
    ['extra top-level key', (r) => (r.surprise = true), /\$\.surprise: unexpected property/],
    ['unknown attention kind', (r) => (r.model.attention = 'flash'), /\$\.model\.attention/],
    ['figures a string', (r) => (r.figures = 'none'), /\$\.figures: matches no anyOf branch/],
    ['exit code 2', (r) => (r.exit.code = 2), /\$\.exit\.code/],
    ['histogram value a string', (r) => (r.figures.batch_size_histogram.decode['1'] = 'three'), /decode\.1: expected integer/],
  ];
  test.each(mutations)('a report with %s fails', (_name, mutate, problem) => {
    const json = JSON.parse(JSON.stringify(runReport));
    mutate(json);
    const problems = checkJsonSchema(json, schema);
    expect(problems.some((p) => problem.test(p))).toBe(true);
  });

  test('the checker refuses keywords it does not implement instead of ignoring them', () => {
    expect(() => checkJsonSchema(1, { type: 'integer', multipleOf: 2 })).toThrow(/unsupported schema keyword "multipleOf"/);
  });
});

describe('finding catalog', () => {
  test('every finding produced here is catalogued with its severity', () => {
    for (const f of runReport.findings) {
      const entry = (FINDING_CATALOG as Record<string, { severities: readonly string[] }>)[f.code];
      expect(entry).toBeDefined();
      expect(entry.severities).toContain(f.severity);
    }
  });

  test('docs/findings.md documents every code', () => {
    const doc = fs.readFileSync(path.join(__dirname, '../..', 'docs', 'findings.md'), 'utf8');
    for (const code of FINDING_CODES) expect(doc).toContain(`| \`${code}\` |`);
  });
});
