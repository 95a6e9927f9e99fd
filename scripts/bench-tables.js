#!/usr/bin/env node
'use strict';
// Regenerates the performance tables of README.md and bench/README.md from the committed results files.
//   node scripts/bench-tables.js            rewrite the marked blocks
//   node scripts/bench-tables.js --check    exit 1 (and name the blocks) if a block differs from its results
// A block is `<!-- bench-table: KEY[,KEY…] -->` … `<!-- /bench-table -->`; KEY is a results file's key (compare/long/fp32,
// decode-step, denormals/fp32, batch-sweep/W64/q4, shared/fp32, prefill-rss/fp32, decode-b1/fp32) or `index`. Each key
// is filled from the newest results file under bench/results/ with that key (quick runs and labelled runs, e.g.
// "sanity", are never used); a key without one says so and names the command that produces it.
const fs = require('fs');
const path = require('path');
const { renderResult } = require('../bench/tables');

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

/**
 * Text of the README's "## Performance" section and of the Prefix caching section's **Benchmark.** paragraph, with the
 * generated blocks removed: numbers there would be measurements nobody can trace to a results file.
 */
function unbackedMeasurements(readme) {
  const sections = [];
  const performance = /\n## Performance\n([\s\S]*?)(?=\n## |$)/.exec(readme);
  if (performance) sections.push(performance[1]);
  const benchmark = /\n\*\*Benchmark\.\*\*([\s\S]*?)(?=\n## )/.exec(readme);
  if (benchmark) sections.push(benchmark[1]);
  const text = sections.join('\n').replace(BLOCK, '');
  const pattern = /\d[\d,]*(?:\.\d+)?(?:×|\s?(?:ms|s|GB|MB|KB|GiB|MiB|GB\/s|tok\/s)\b)|\d+\.\d+\s?%/g;
  return [...text.matchAll(pattern)].map((m) => {
    const start = Math.max(0, m.index - 40);
    return { match: m[0], context: text.slice(start, m.index + m[0].length + 20).replace(/\s+/g, ' ') };
  });
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
  const loose = unbackedMeasurements(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8'));
  if (loose.length > 0) {
    failed = true;
    for (const l of loose) process.stderr.write(`README.md: "${l.match}" outside the generated blocks of the performance text: …${l.context}…\n`);
  }
  process.exit(failed ? 1 : 0);
}

module.exports = { loadResults, regenerate, renderBlock, unbackedMeasurements, commandForKey, DOCUMENTS, RESULTS_DIR };

if (require.main === module) main();
