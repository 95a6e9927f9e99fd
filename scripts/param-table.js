#!/usr/bin/env node
'use strict';
// Rewrites README.md's generation-parameter table from src/params/generationParams.ts (via dist/; run `npm run build` first).
const fs = require('node:fs');
const path = require('node:path');
const { withParamTable } = require('../dist/params/paramTableMarkdown.js');

const readme = path.resolve(__dirname, '../README.md');
const updated = withParamTable(fs.readFileSync(readme, 'utf8'));
if (updated === null) {
  process.stderr.write('README.md has no generation-parameter table markers\n');
  process.exit(1);
}
fs.writeFileSync(readme, updated);
