'use strict';
const { Worker } = require('worker_threads');

/**
 * Memory read bandwidth, measured with Buffer#indexOf of a byte that is absent: Node runs it as memchr, a SIMD scan
 * that reads every byte once and computes almost nothing, so it runs at the memory's read speed. (A JavaScript
 * Float32Array sum is compute-bound at a few GB/s here and would understate the bandwidth.) The buffer is filled first:
 * untouched pages would all map the kernel's shared zero page and read from cache.
 */
function scanSeconds(buffer) {
  const started = process.hrtime.bigint();
  if (buffer.indexOf(2) !== -1) throw new Error('bandwidth buffer must not contain the searched byte');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Best of `repeats` single-thread scans of a `bytes`-sized buffer, in bytes/s. */
function singleThreadBandwidth(bytes, repeats) {
  const buffer = Buffer.allocUnsafe(bytes).fill(1);
  let best = Infinity;
  for (let r = 0; r < repeats; r++) best = Math.min(best, scanSeconds(buffer));
  return bytes / best;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const view = Buffer.from(workerData.shared, workerData.offset, workerData.length);
parentPort.on('message', () => {
  const start = performance.timeOrigin + performance.now();
  const found = view.indexOf(2);
  const end = performance.timeOrigin + performance.now();
  parentPort.postMessage({ start, end, found });
});
parentPort.postMessage('ready');
`;

/** Best of `repeats` scans with `threads` workers each reading its own slice at the same time, in bytes/s. */
async function multiThreadBandwidth(bytes, threads, repeats) {
  const shared = new SharedArrayBuffer(bytes);
  Buffer.from(shared).fill(1);
  const slice = Math.floor(bytes / threads);
  const workers = [];
  try {
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared, offset: t * slice, length: slice } });
      workers.push(worker);
      await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    }
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const results = await Promise.all(workers.map((worker) => new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('go');
      })));
      if (results.some((x) => x.found !== -1)) throw new Error('bandwidth buffer must not contain the searched byte');
      const seconds = (Math.max(...results.map((x) => x.end)) - Math.min(...results.map((x) => x.start))) / 1000;
      best = Math.min(best, seconds);
    }
    return (slice * threads) / best;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * Both figures; the roofline uses the higher one (the conservative choice: a higher bandwidth means a higher ceiling).
 */
async function measureBandwidth(bytes, threads) {
  const single = singleThreadBandwidth(bytes, 5);
  const multi = threads > 1 ? await multiThreadBandwidth(bytes, threads, 5) : single;
  return { buffer_bytes: bytes, threads, single_thread_bytes_per_s: single, all_threads_bytes_per_s: multi, roofline_bytes_per_s: Math.max(single, multi) };
}

module.exports = { measureBandwidth };
