import * as fs from 'node:fs';
import * as path from 'node:path';

// The import rules of the README's "Code map", checked on the source: a folder pair never imports each other (imports
// flow one way), only cli/ imports cli/, and the files at src/ level (errors, attentionKind) import no folder.
const SRC = path.resolve(__dirname, '../src');


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

/** The top folder of src/ a path is in (an import of a folder's index counts as that folder), or ROOT for a file directly in src/. */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  const isFolder = fs.existsSync(file) && fs.statSync(file).isDirectory();
  return parts.length > 1 || isFolder ? parts[0] : ROOT;
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

test('the scan sees the pipeline: cli → job → engine → padding → runtime, and imports of a folder index', () => {
  for (const edge of ['cli→job', 'job→engine', 'engine→padding', 'engine→runtime', 'padding→runtime', 'model→tinymodel']) expect(edges).toContain(edge);
});

test('the runtime sits below the engine: it imports none of the folders above it', () => {
  const above = new Set(['cli', 'job', 'engine', 'padding', 'schedule', 'model', 'output', 'diagnostics', 'input']);
  expect(imports.filter((i) => i.from === 'runtime' && above.has(i.to)).map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
});

test('nothing outside cli/ imports cli/', () => {
  expect(imports.filter((i) => i.to === 'cli' && i.from !== 'cli').map((i) => i.file)).toEqual([]);
});

test('no two folders import each other', () => {
  const cycles = imports
    .filter((i) => edges.has(`${i.to}→${i.from}`))
    .map((i) => `${i.file} imports ${i.to}/, which imports ${i.from}/`);
  expect(cycles).toEqual([]);
});

test('files at src/ level are leaves: they import no folder', () => {
  expect(imports.filter((i) => i.from === ROOT).map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
});
