'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const PROBE = path.join(__dirname, 'rssProbe.js');

/** Peak resident set size of a live process so far (Linux /proc VmHWM), or null. */
function peakRssNow(pid) {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Runs `node <args>` in a child process with the RSS probe preloaded, and never throws for the child's own failure: the
 * result says whether it finished. Returns { finished, status ('ok' | 'time limit' | 'exit N' | 'signal S'), exitCode,
 * signal, wallSeconds (spawn to exit: Node start, model load and all work included), peakRssBytes (the child's own
 * maxRSS at exit; for a child that was killed, the last /proc VmHWM sample), cpuSeconds (the child's user + system CPU
 * time, every thread; null for a killed child), stderrTail, lines (every stdout line with its arrival time in seconds
 * since spawn) }. A child still running after `timeLimitSeconds` is killed (SIGKILL).
 */
function runMeasuredNode(args, { cwd, env = {}, timeLimitSeconds = Infinity, echoStderr = false } = {}) {
  const usageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gen-bench-usage-'));
  const usageFile = path.join(usageDir, 'usage.json');
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
      stderr = (stderr + chunk.toString('utf8')).slice(-20000);
      if (echoStderr) process.stderr.write(chunk);
    });
    let sampledPeak = null;
    const sampler = setInterval(() => {
      sampledPeak = peakRssNow(child.pid) ?? sampledPeak;
    }, 1000);
    let timedOut = false;
    const timer = Number.isFinite(timeLimitSeconds) ? setTimeout(() => {
      timedOut = true;
      sampledPeak = peakRssNow(child.pid) ?? sampledPeak;
      child.kill('SIGKILL');
    }, timeLimitSeconds * 1000) : null;
    child.on('error', (error) => {
      clearInterval(sampler);
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      const wallSeconds = since();
      clearInterval(sampler);
      if (timer) clearTimeout(timer);
      let usage = null;
      try {
        usage = JSON.parse(fs.readFileSync(usageFile, 'utf8'));
      } catch {
        // killed before its exit hook ran: the sampled peak stands in
      }
      fs.rmSync(usageDir, { recursive: true, force: true });
      const status = timedOut ? 'time limit' : code === 0 ? 'ok' : signal ? `signal ${signal}` : `exit ${code}`;
      resolve({
        finished: status === 'ok', status, exitCode: code, signal, wallSeconds,
        peakRssBytes: usage ? usage.maxRSS * 1024 : sampledPeak,
        cpuSeconds: usage ? (usage.userCPUTime + usage.systemCPUTime) / 1e6 : null,
        stderrTail: stderr.trim().split('\n').slice(-12).join('\n'), lines,
      });
    });
  });
}

module.exports = { runMeasuredNode };
