'use strict';

/** mulberry32: a small seeded PRNG, so the workload is a pure function of its seed on every platform. */
function createRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** Uniform integer in [min, max], both inclusive. */
  const int = (min, max) => min + Math.floor(next() * (max - min + 1));
  return { next, int };
}

module.exports = { createRandom };
