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

/**
 * { entries: {config key: value}, threads, source, described (inspect's session_options, verbatim), derived (the graph
 * rewrites qwen-gen runs instead of the file, which transformers.js cannot use) }. `entries` is what transformers.js is
 * given as session_options.extra.
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
  // The report's own fields (model.runtime.session_options.config_entries, model.derived_graph), where this version has
  // them; else any object of onnxruntime config keys in the description.
  const described = inspect?.model?.runtime?.session_options;
  const derivedGraph = inspect?.model?.derived_graph;
  const derived = derivedGraph?.file ? [{ file: derivedGraph.file, rewrites: (derivedGraph.rewrites ?? []).map((r) => `${r.name} (${r.nodes} nodes): ${r.detail}`) }] : [];
  if (described && described.config_entries && typeof described.config_entries === 'object') {
    return { entries: { ...described.config_entries }, threads, source: 'qwen-gen inspect --json (model.runtime.session_options)', described, derived };
  }
  const fromInspect = inspect ? findConfigEntries(inspect) : [];
  if (fromInspect.length > 0) {
    const entries = Object.assign({}, ...fromInspect.map((f) => f.entries));
    return { entries, threads, source: `qwen-gen inspect --json (${fromInspect.map((f) => f.at).join(', ')})`, described: null, derived };
  }
  const { sessionSettings, sessionConfigEntries } = require('../dist/runtime/sessionOptions');
  return {
    entries: sessionConfigEntries(sessionSettings(threads)), threads,
    source: 'dist/runtime/sessionOptions.js (qwen-gen inspect --json names no session options in this version)',
    described: null, derived,
  };
}

module.exports = { qwenGenSessionOptions, findConfigEntries };
