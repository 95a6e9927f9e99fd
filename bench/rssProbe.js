'use strict';
// Preloaded into each measured child (`node -r ./bench/rssProbe.js ...`): at exit it writes the process's own
// resource usage (maxRSS is the peak resident set size, in kilobytes) to $QWEN_GEN_BENCH_USAGE_FILE.
const fs = require('fs');

const target = process.env.QWEN_GEN_BENCH_USAGE_FILE;
if (target) {
  process.on('exit', () => {
    fs.writeFileSync(target, JSON.stringify(process.resourceUsage()));
  });
}
