#!/usr/bin/env node
'use strict';
// Regenerates the performance tables of README.md and bench/README.md from the committed results files.
//   node scripts/bench-tables.js            rewrite the marked blocks
//   node scripts/bench-tables.js --check    exit 1 (and name the blocks) if a block differs from its results
// A block is `<!-- bench-table: KEY[,KEY…] -->` … `<!-- /bench-table -->`; KEY is a results file's key (compare/long/fp32,
// options/q4, decode-step, denormals/fp32, batch-sweep/W64/q4, shared/fp32, prefill-rss/fp32, decode-b1/fp32,
// structured/fp32) or `index`.
// Each key is filled from the newest results file under bench/results/ with that key (quick runs and labelled runs, e.g.
// "sanity", are never used); a key without one says so and names the command that produces it. A block of options/<dtype>
// keys is one table whose every row (option, dtype) comes from the newest file that measured it.
const fs = require('fs');
const path = require('path');
const { renderResult, renderOptionsTable } = require('../bench/tables');

const REPO = path.join(__dirname, '..');
const RESULTS_DIR = path.join(REPO, 'bench', 'results');
const DOCUMENTS = ['README.md', path.join('bench', 'README.md')];
const BLOCK = /(<!-- bench-table: ([^>]*?) -->\n)([\s\S]*?)(<!-- \/bench-table -->)/g;

/** Every usable results file: { file (relative to the repo), result }, newest first. */
function loadResults(dir = RESULTS_DIR) {
  if (!fs.existsSync(dir)) return [];
  const results = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const file = path.join(dir, name);
    const result = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (result.quick || result.label) continue;
    results.push({ file: path.relative(REPO, file).split(path.sep).join('/'), result });
  }
  return results.sort((a, b) => (a.result.date < b.result.date ? 1 : a.result.date > b.result.date ? -1 : 0));
}

/** The command that produces a key's results file (for a block that has none yet). */
function commandForKey(key) {
  const [part, a, b] = key.split('/');
  if (part === 'compare') return `node bench/run.js compare --workload ${a} --dtype ${b}`;
  if (part === 'batch-sweep') return `node bench/run.js batch-sweep --workload ${a} --dtype ${b}`;
  if (part === 'decode-step') return 'node bench/run.js decode-step --dtype fp32,q8,q4';
  if (part === 'options') return `node bench/run.js options --dtype ${a ?? 'fp32,q8,q4'}`;
  return `node bench/run.js ${part} --dtype ${a ?? 'fp32'}`;
}

function renderIndex(results) {
  const newest = new Map();
  for (const entry of results) if (!newest.has(entry.result.key)) newest.set(entry.result.key, entry);
  if (newest.size === 0) return '_No results committed yet._';
  const rows = [...newest.values()].sort((a, b) => (a.result.key < b.result.key ? -1 : 1)).map(({ file, result }) =>
    `| ${result.key} | \`${file}\` | ${result.date.slice(0, 10)} | ${result.git?.commit?.slice(0, 10) ?? '?'} | \`${result.command}\` |`);
  return ['| key | results file | date | commit | command |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** The generated content of one block. */
function renderBlock(keys, results) {
  if (keys.length === 1 && keys[0] === 'index') return renderIndex(results);
  // options/<dtype> keys render as one table, each row from the newest file that measured that option on that dtype.
  if (keys.every((key) => key.startsWith('options/'))) {
    return renderOptionsTable(results.filter((e) => keys.includes(e.result.key)), keys.map((key) => key.split('/')[1]));
  }
  return keys.map((key) => {
    const entry = results.find((e) => e.result.key === key);
    if (!entry) return `_Not measured yet (${key}): \`${commandForKey(key)}\`, then \`npm run bench:tables\`._`;
    return renderResult(entry.result, { file: entry.file });
  }).join('\n\n');
}

/** The document with every block regenerated; `changed` lists the blocks whose content differed. */
function regenerate(text, results) {
  const changed = [];
  const out = text.replace(BLOCK, (whole, open, keyList, body, close) => {
    const keys = keyList.split(',').map((k) => k.trim()).filter(Boolean);
    const fresh = `${renderBlock(keys, results)}\n`;
    if (fresh !== body) changed.push(keyList.trim());
    return `${open}${fresh}${close}`;
  });
  return { text: out, changed };
}

/** The README headings whose sections hold no typed measurement (each up to the next heading of its level or above). */
const MEASURED_SECTIONS = Object.freeze(['## Performance', '### Quantized models: session options and derived graphs', '## Structured outputs']);

/** [start, end) of a section of `readme` from its heading line to the next heading of the same level or above. */
function sectionRange(readme, heading) {
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) return null;
  const level = heading.indexOf(' ');
  const bodyStart = at + heading.length + 2;
  const next = new RegExp(`\n#{1,${level}} `, 'g');
  next.lastIndex = bodyStart;
  const end = next.exec(readme);
  return [bodyStart, end ? end.index : readme.length];
}

/**
 * Measurements typed in the README's performance text — the "## Performance" section, the "### Quantized models"
 * section (wherever it sits) and the Prefix caching section's **Benchmark.** paragraph — outside the generated blocks:
 * numbers nobody can trace to a results file. `missingSections` names a section that is not there (renamed or removed:
 * the rule would silently stop covering it).
 */
function unbackedMeasurements(readme) {
  // Generated blocks blanked out, keeping every other character where it is.
  const text = readme.replace(BLOCK, (whole) => whole.replace(/[^\n]/g, ' '));
  const ranges = MEASURED_SECTIONS.map((h) => sectionRange(readme, h)).filter(Boolean);
  const benchmark = /\n\*\*Benchmark\.\*\*([\s\S]*?)(?=\n## )/.exec(readme);
  if (benchmark) ranges.push([benchmark.index, benchmark.index + benchmark[0].length]);
  const pattern = /\d[\d,]*(?:\.\d+)?(?:×|\s?(?:ms|s|GB|MB|KB|GiB|MiB|GB\/s|tok\/s)\b)|\d+\.\d+\s?%/g;
  const found = new Map();
  for (const [start, end] of ranges) {
    for (const m of text.slice(start, end).matchAll(pattern)) {
      const at = start + m.index;
      if (found.has(at)) continue;
      const from = Math.max(start, at - 40);
      found.set(at, { match: m[0], context: text.slice(from, at + m[0].length + 20).replace(/\s+/g, ' ') });
    }
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** The sections the rule covers that the README does not have. */
function missingSections(readme) {
  return MEASURED_SECTIONS.filter((h) => !sectionRange(readme, h));
}

function main() {
  const check = process.argv.includes('--check');
  const results = loadResults();
  let failed = false;
  for (const doc of DOCUMENTS) {
    const file = path.join(REPO, doc);
    const before = fs.readFileSync(file, 'utf8');
    const { text, changed } = regenerate(before, results);
    if (check) {
      if (changed.length > 0) {
        failed = true;
        process.stderr.write(`${doc}: blocks differ from bench/results: ${changed.join('; ')} (run npm run bench:tables)\n`);
      }
    } else if (text !== before) {
      fs.writeFileSync(file, text);
      process.stderr.write(`${doc}: regenerated ${changed.join('; ')}\n`);
    }
  }
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  for (const heading of missingSections(readme)) {
    failed = true;
    process.stderr.write(`README.md: no section "${heading}": the rule that keeps measurements in generated blocks covers it (scripts/bench-tables.js MEASURED_SECTIONS)\n`);
  }
  const loose = unbackedMeasurements(readme);
  if (loose.length > 0) {
    failed = true;
    for (const l of loose) process.stderr.write(`README.md: "${l.match}" outside the generated blocks of the performance text: …${l.context}…\n`);
  }
  process.exit(failed ? 1 : 0);
}

module.exports = { loadResults, regenerate, renderBlock, unbackedMeasurements, missingSections, MEASURED_SECTIONS, commandForKey, DOCUMENTS, RESULTS_DIR };

if (require.main === module) main();
