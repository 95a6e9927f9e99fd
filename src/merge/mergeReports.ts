/**
 * Merges shard report JSON files into one. The report schema is not final (the diagnostics issue owns
 * it), so this merge is generic and will be revisited once the schema is fixed:
 * - `figures`: numeric leaves summed at the same path (objects by key, arrays by position); other leaves
 *   kept from the first report that has them. Note that this also sums figures that are not additive
 *   (rates, peaks, fractions) — to be replaced by per-field rules.
 * - `findings`: deduplicated by `code` + `evidence` (compared as JSON with sorted keys, ignoring request-id
 *   lists); request-id lists (fields named `ids`, `*_ids` or `*Ids`, in the finding or its evidence) are
 *   concatenated without repeats, and a numeric `count` is summed.
 * - every other top-level field is kept from the first report that has it, and `shards` counts the
 *   shard reports merged (a report that is itself a merge counts for its own `shards`).
 */
export function mergeReports(reports: unknown[]): Record<string, unknown> {
  if (reports.length === 0) throw new TypeError('no reports to merge');
  const objects = reports.map((report, position) => {
    if (!isPlainObject(report)) throw new TypeError(`report ${position + 1} is not a JSON object`);
    return report;
  });

  const merged: Record<string, unknown> = {};
  for (const report of objects) {
    for (const [key, value] of Object.entries(report)) {
      if (key === 'figures' || key === 'findings' || key === 'shards' || Object.hasOwn(merged, key)) continue;
      setOwn(merged, key, value);
    }
  }
  const withFigures = objects.filter((report) => report.figures !== undefined);
  if (withFigures.length > 0) merged.figures = withFigures.map((report) => report.figures).reduce(sumNumericLeaves);
  const findingLists = objects.map((report) => report.findings).filter(Array.isArray);
  if (findingLists.length > 0) merged.findings = mergeFindings(findingLists.flat());
  merged.shards = objects.reduce((sum, report) => sum + (typeof report.shards === 'number' ? report.shards : 1), 0);
  return merged;
}

function sumNumericLeaves(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) {
    return Array.from({ length: Math.max(a.length, b.length) }, (_, i) => sumNumericLeaves(a[i], b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const result: Record<string, unknown> = { ...a };
    for (const [key, value] of Object.entries(b)) setOwn(result, key, Object.hasOwn(a, key) ? sumNumericLeaves(a[key], value) : value);
    return result;
  }
  return a === undefined ? b : a;
}

function mergeFindings(findings: unknown[]): unknown[] {
  const byKey = new Map<string, Record<string, unknown>>();
  const result: unknown[] = [];
  for (const finding of findings) {
    if (!isPlainObject(finding)) {
      result.push(finding);
      continue;
    }
    const evidence = isPlainObject(finding.evidence) ? withoutIdLists(finding.evidence) : finding.evidence;
    const key = `${String(finding.code)}\u0000${stableStringify(evidence)}`;
    const first = byKey.get(key);
    if (!first) {
      const copy = structuredClone(finding);
      byKey.set(key, copy);
      result.push(copy);
      continue;
    }
    concatenateIdLists(first, finding);
    if (isPlainObject(first.evidence) && isPlainObject(finding.evidence)) concatenateIdLists(first.evidence, finding.evidence);
    if (typeof first.count === 'number' && typeof finding.count === 'number') first.count += finding.count;
  }
  return result;
}

function isIdListField(key: string, value: unknown): value is unknown[] {
  return Array.isArray(value) && (key === 'ids' || key.endsWith('_ids') || key.endsWith('Ids'));
}

function withoutIdLists(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key, value]) => !isIdListField(key, value)));
}

function concatenateIdLists(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    if (!isIdListField(key, value)) continue;
    const existing = isIdListField(key, target[key]) ? target[key] : [];
    const seen = new Set(existing.map((id) => JSON.stringify(id)));
    target[key] = [...existing, ...value.filter((id) => !seen.has(JSON.stringify(id)) && seen.add(JSON.stringify(id)))];
  }
}

/** JSON with object keys sorted, so key order does not make two equal values differ. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${stableStringify(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Plain assignment would treat a `__proto__` key from JSON as the prototype. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
