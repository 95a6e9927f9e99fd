'use strict';
// The onnxruntime session options qwen-gen uses for a model and dtype, so that transformers.js can be given the same
// ones (issue 22: "same session options for both sides where the library allows it"). Read from `qwen-gen inspect --json`
// when it names them; else from the built code (dist/runtime/sessionOptions.js), which is what this version applies.
const { execFileSync } = require('child_process');
const { CLI, REPO } = require('./engines');

/** Config entries look like onnxruntime's keys: "session.disable_prepacking", "mlas.…", "optimization.…". */
const CONFIG_KEY = /^(session|mlas|optimization|ep|kernel)\.[\w.]+$/;

/** Every object in `node` whose keys are all onnxruntime config keys (string values), with where it sits. */
function findConfigEntries(node, trail = []) {
  if (!node || typeof node !== 'object') return [];
  const found = [];
  const keys = Object.keys(node);
  if (!Array.isArray(node) && keys.length > 0 && keys.every((k) => CONFIG_KEY.test(k) && ['string', 'number', 'boolean'].includes(typeof node[k]))) {
    found.push({ at: trail.join('.'), entries: Object.fromEntries(keys.map((k) => [k, String(node[k])])) });
  }
  for (const key of keys) found.push(...findConfigEntries(node[key], [...trail, key]));
  return found;
}

/** Objects under keys that mention session options or derived graph files (what inspect says qwen-gen chose). */
function findNamed(node, pattern, trail = []) {
  if (!node || typeof node !== 'object') return [];
  const found = [];
  for (const [key, value] of Object.entries(node)) {
    if (pattern.test(key)) found.push({ at: [...trail, key].join('.'), value });
    else found.push(...findNamed(value, pattern, [...trail, key]));
  }
  return found;
}

/**
 * { entries: {config key: value}, threads, source, inspect: {what inspect names, verbatim}, derived }.
 * `entries` is what transformers.js is given as session_options.extra.
 */
function qwenGenSessionOptions(modelDir, dtype, threads) {
  let inspect = null;
  try {
    const args = [CLI, 'inspect', modelDir, '--json', '--threads', String(threads)];
    if (dtype !== 'fp32') args.push('--dtype', dtype);
    inspect = JSON.parse(execFileSync(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString('utf8'));
  } catch {
    try {
      const args = [CLI, 'inspect', modelDir, '--json'];
      if (dtype !== 'fp32') args.push('--dtype', dtype);
      inspect = JSON.parse(execFileSync(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }).toString('utf8'));
    } catch {
      inspect = null;
    }
  }
  const named = inspect ? findNamed(inspect, /session_?options|session_?config|config_?entries|prepack|accuracy_?level|derived/i) : [];
  const fromInspect = inspect ? findConfigEntries(inspect) : [];
  const derived = named.filter((n) => /derived/i.test(n.at));
  if (fromInspect.length > 0) {
    const entries = Object.assign({}, ...fromInspect.map((f) => f.entries));
    return { entries, threads, source: `qwen-gen inspect --json (${fromInspect.map((f) => f.at).join(', ')})`, inspect: named, derived };
  }
  const { sessionSettings, sessionConfigEntries } = require('../dist/runtime/sessionOptions');
  return {
    entries: sessionConfigEntries(sessionSettings(threads)), threads,
    source: 'dist/runtime/sessionOptions.js (qwen-gen inspect --json names no session options in this version)',
    inspect: named, derived,
  };
}

module.exports = { qwenGenSessionOptions, findConfigEntries };
