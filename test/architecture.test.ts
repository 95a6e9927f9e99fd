import * as fs from 'node:fs';
import * as path from 'node:path';

// The import rules of the README's "Code map", checked on the source: imports flow one way (no cycle of any length, between
// folders or between files, type-only imports included), only cli/ imports cli/, and the files at src/ level (errors,
// attentionKind, …) import no folder.
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

/** The source file an import specifier names (`./x` → x.ts, a folder → its index.ts); null outside src/ (package.json). */
function resolveImport(fromFile: string, specifier: string): string | null {
  const target = path.resolve(path.dirname(fromFile), specifier);
  for (const candidate of [`${target}.ts`, path.join(target, 'index.ts'), target]) {
    if (candidate.startsWith(SRC) && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)'(\.{1,2}\/[^']*)'/g;

function scan(): { imports: Import[]; fileGraph: Map<string, Set<string>> } {
  const imports: Import[] = [];
  const fileGraph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const targets = new Set<string>();
    for (const match of fs.readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      const target = path.resolve(path.dirname(file), match[1]);
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) imports.push({ file: path.relative(SRC, file), from, to });
      const resolved = resolveImport(file, match[1]);
      if (resolved) targets.add(path.relative(SRC, resolved));
    }
    fileGraph.set(path.relative(SRC, file), targets);
  }
  return { imports, fileGraph };
}

/** The import cycles of a graph: its strongly connected components of more than one node, or with a self-import (Tarjan). */
export function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || graph.get(node)?.has(node)) cycles.push(component.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

const { imports, fileGraph } = scan();
const edges = new Set(imports.map((i) => `${i.from}→${i.to}`));
const folderGraph = new Map<string, Set<string>>();
for (const { from, to } of imports) folderGraph.set(from, (folderGraph.get(from) ?? new Set()).add(to));

test('the scan sees the pipeline: cli → job → engine → padding → runtime, and imports of a folder index', () => {
  for (const edge of ['cli→job', 'job→engine', 'engine→padding', 'engine→runtime', 'padding→runtime', 'model→tinymodel']) expect(edges).toContain(edge);
  expect(fileGraph.get('engine/generationEngine.ts')).toContain('engine/kvManager.ts');
});

test('the runtime sits below the engine: it imports none of the folders above it', () => {
  const above = new Set(['cli', 'job', 'engine', 'padding', 'schedule', 'model', 'output', 'diagnostics', 'input']);
  expect(imports.filter((i) => i.from === 'runtime' && above.has(i.to)).map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
});

test('model/ (files, graph, hub) sits beside the engine, below it: it imports neither padding/ nor runtime/ nor the engine', () => {
  const above = new Set(['padding', 'runtime', 'engine', 'schedule', 'job', 'cli', 'api', 'diagnostics']);
  expect(imports.filter((i) => i.from === 'model' && above.has(i.to)).map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
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

test('no import cycle of any length between folders', () => {
  expect(cyclesOf(folderGraph)).toEqual([]);
});

test('no import cycle of any length between files (type-only imports included)', () => {
  expect(cyclesOf(fileGraph)).toEqual([]);
  expect(fileGraph.size).toBeGreaterThan(100);
});

test('negative control: the cycle finder finds a cycle of three, a pair and a self-import, and nothing in a chain', () => {
  const graph = (edgeList: string[]) => {
    const g = new Map<string, Set<string>>();
    for (const edge of edgeList) {
      const [a, b] = edge.split('→');
      g.set(a, (g.get(a) ?? new Set()).add(b));
      if (!g.has(b)) g.set(b, new Set());
    }
    return g;
  };
  expect(cyclesOf(graph(['job→engine', 'engine→padding', 'padding→job', 'padding→runtime']))).toEqual([['engine', 'job', 'padding']]);
  expect(cyclesOf(graph(['a→b', 'b→a', 'c→c', 'c→d']))).toEqual([['a', 'b'], ['c']]);
  expect(cyclesOf(graph(['cli→job', 'job→engine', 'engine→padding', 'padding→runtime']))).toEqual([]);
  // And on the real tree: one back edge (runtime importing the engine) closes a cycle through padding.
  const withBackEdge = new Map([...folderGraph].map(([from, to]) => [from, new Set(to)]));
  withBackEdge.get('runtime')!.add('engine');
  expect(cyclesOf(withBackEdge).flat()).toEqual(expect.arrayContaining(['engine', 'padding', 'runtime']));
});

test('files at src/ level are leaves: they import no folder', () => {
  expect(imports.filter((i) => i.from === ROOT).map((i) => `${i.file} imports ${i.to}/`)).toEqual([]);
});
