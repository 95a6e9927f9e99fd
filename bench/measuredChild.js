'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const PROBE = path.join(__dirname, 'rssProbe.js');

/**
 * Runs `node <args>` in a child process with the RSS probe preloaded. Returns wall seconds (spawn to exit: Node start,
 * model load and all work included), the child's peak RSS in bytes, its stderr, and the arrival time of every stdout line
 * (seconds since spawn) for callers that time progress from the outside.
 */
function runMeasuredNode(args, { cwd, env = {}, label, echoStderr = false } = {}) {
  const usageFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-bench-usage-')), 'usage.json');
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - started) / 1e9;
    const child = spawn(process.execPath, ['-r', PROBE, ...args], {
      cwd,
      env: { ...process.env, ...env, QWEN_GEN_BENCH_USAGE_FILE: usageFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = [];
    let pending = '';
    child.stdout.on('data', (chunk) => {
      const at = since();
      pending += chunk.toString('utf8');
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        lines.push({ at, text: pending.slice(0, newline) });
        pending = pending.slice(newline + 1);
      }
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString('utf8');
      if (echoStderr) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallSeconds = since();
      let usage = null;
      try {
        usage = JSON.parse(fs.readFileSync(usageFile, 'utf8'));
      } catch {
        // the child died before its exit hook ran; reported as unknown RSS
      }
      fs.rmSync(path.dirname(usageFile), { recursive: true, force: true });
      if (code !== 0) {
        const tail = stderr.trim().split('\n').slice(-15).join('\n');
        reject(new Error(`${label ?? args.join(' ')} exited with ${signal ?? code}:\n${tail}`));
        return;
      }
      resolve({ wallSeconds, peakRssBytes: usage ? usage.maxRSS * 1024 : null, stderr, lines });
    });
  });
}

module.exports = { runMeasuredNode };
