import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from '../helpers/testModels';

/**
 * The final benchmark plan (bench/plan.js): it produces every results file the README's tables are generated from, and
 * a restart skips exactly the steps whose results file for the current commit holds what the step asks for.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
interface Step {
  id: string;
  key: string;
  args: string[];
  engines: string[];
  minutes: number;
  reps?: number;
}
type Entry = { file: string; result: Record<string, unknown> };
const plan = require('../../bench/plan.js') as {
  planSteps: () => Step[];
  doneBy: (step: Step, results: Entry[], quick: boolean) => Entry | null;
  resultsOf: (commit: string, quick: boolean, root?: string) => Entry[];
};
const tables = require('../../scripts/bench-tables.js') as { DOCUMENTS: string[] };
/* eslint-enable @typescript-eslint/no-require-imports */

const REPO = path.join(__dirname, '..', '..');

describe('bench plan', () => {
  test('every key of every generated block in the documents is produced by one step of the plan, each with an estimate', () => {
    const keys = new Set<string>();
    for (const doc of tables.DOCUMENTS) {
      for (const m of fs.readFileSync(path.join(REPO, doc), 'utf8').matchAll(/<!-- bench-table: ([^>]*?) -->\n/g)) {
        for (const key of m[1].split(',').map((k) => k.trim())) if (key !== 'index') keys.add(key);
      }
    }
    const missing = (steps: Step[]) => [...keys].filter((k) => !steps.some((s) => s.key === k));
    const steps = plan.planSteps();
    expect(keys.size).toBeGreaterThan(10);
    expect(missing(steps)).toEqual([]);
    expect(new Set(steps.map((s) => s.key)).size).toBe(steps.length);
    for (const step of steps) expect(step.minutes).toBeGreaterThan(0);
    // Negative control: a plan without the W-shared q4 step leaves the README's shared/q4 table without results.
    expect(missing(steps.filter((s) => s.id !== 'shared-q4'))).toEqual(['shared/q4']);
  });

  test('a step counts as done only with its key, every engine it asks for and its repetitions, from this commit and unlabelled', () => {
    const step = plan.planSteps().find((s) => s.id === 'compare-W64-q4')!;
    const dir = tempDir('bench-plan');
    const base = { key: step.key, quick: false, label: null, git: { commit: 'c1' }, settings: { reps: 3 }, engines: Object.fromEntries(step.engines.map((e) => [e, {}])) };
    const write = (name: string, result: object) => fs.writeFileSync(path.join(dir, name), JSON.stringify(result));
    write('other-commit.json', { ...base, git: { commit: 'c0' } });
    write('labelled.json', { ...base, label: 'sanity' });
    write('one-rep.json', { ...base, settings: { reps: 1 } });
    write('missing-engine.json', { ...base, engines: { 'qwen-gen': {} } });
    write('other-key.json', { ...base, key: 'compare/W64/q8' });
    expect(plan.doneBy(step, plan.resultsOf('c1', false, dir), false)).toBeNull();
    write('complete.json', base);
    expect(path.basename(plan.doneBy(step, plan.resultsOf('c1', false, dir), false)!.file)).toBe('complete.json');
    expect(plan.doneBy(step, plan.resultsOf('c2', false, dir), false)).toBeNull();
    // --quick looks at quick results only, where one repetition is the default.
    fs.mkdirSync(path.join(dir, 'quick'));
    fs.writeFileSync(path.join(dir, 'quick', 'q.json'), JSON.stringify({ ...base, quick: true, settings: { reps: 1 } }));
    expect(path.basename(plan.doneBy(step, plan.resultsOf('c1', true, dir), true)!.file)).toBe('q.json');
  });
});
