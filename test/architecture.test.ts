import * as fs from 'node:fs';
import * as path from 'node:path';

// The import rules of the README's "Code map", checked on the source: a folder pair never imports each other (imports
// flow one way), only cli/ imports cli/, and the files at src/ level (errors, attentionKind) import no folder.
const SRC = path.resolve(__dirname, '../src');

/**
 * Folder pairs allowed to import each other for now. model ↔ padding: model/loadModel chooses the padding protocol while
 * padding/ reads model/kvCache; the KV cache and runner are moving to runtime/, which removes this cycle.
 */
const ALLOWED_CYCLES: ReadonlyArray<readonly [string, string]> = [['model', 'padding']];

interface Import {
  file: string;
  from: string;
  to: string;
}

const ROOT = '(src)';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The top folder of src/ a path is in, or ROOT for a file directly in src/. */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1 ? parts[0] : ROOT;
}

function crossFolderImports(): Import[] {
  const imports: Import[] = [];
  const specifier = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)'(\.{1,2}\/[^']*)'/g;
  for (const file of sourceFiles(SRC)) {
    for (const match of fs.readFileSync(file, 'utf8').matchAll(specifier)) {
      const target = path.resolve(path.dirname(file), match[1]);
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) imports.push({ file: path.relative(SRC, file), from, to });
    }
  }
  return imports;
}

const imports = crossFolderImports();
const edges = new Set(imports.map((i) => `${i.from}→${i.to}`));
const isAllowed = (a: string, b: string) => ALLOWED_CYCLES.some(([x, y]) => (x === a && y === b) || (x === b && y === a));

test('the scan sees the pipeline: cli → job → engine → padding', () => {
  for (const edge of ['cli→job', 'job→engine', 'engine→padding']) expect(edges).toContain(edge);
});

test('nothing outside cli/ imports cli/', () => {
  expect(imports.filter((i) => i.to === 'cli' && i.from !== 'cli').map((i) => i.file)).toEqual([]);
});

test('no two folders import each other (except the allow-listed cycle being removed)', () => {
  const cycles = imports
    .filter((i) => edges.has(`${i.to}→${i.from}`) && !isAllowed(i.from, i.to))
    .map((i) => `${i.file} imports ${i.to}/, which imports ${i.from}/`);
  expect(cycles).toEqual([]);
});

test('files at src/ level are leaves: they import no folder', () => {
  expect(imports.filter((i) => i.from === ROOT).map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
});
