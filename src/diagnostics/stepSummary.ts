import * as fs from 'node:fs';
import { renderMarkdown } from './renderMarkdown';
import { Report } from './report';
import { shouldAnnotate } from './githubAnnotations';

/**
 * Under GitHub Actions (GITHUB_ACTIONS=true), appends the Markdown report to the file named by GITHUB_STEP_SUMMARY, so it
 * shows on the run's summary page. Appends (other steps write there too); a file that cannot be written only warns.
 */
export function appendStepSummary(report: Report, env: NodeJS.ProcessEnv, warn: (message: string) => void = defaultWarn): boolean {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!shouldAnnotate(env) || !file) return false;
  try {
    fs.appendFileSync(file, renderMarkdown(report).replace(/\n?$/, '\n\n'));
    return true;
  } catch (error) {
    warn(`warning: cannot append the report to GITHUB_STEP_SUMMARY (${file}): ${(error as Error).message}`);
    return false;
  }
}

function defaultWarn(message: string): void {
  process.stderr.write(`qwen-gen: ${message}\n`);
}
