import { Finding, Severity } from './finding';
import { findingTitle } from './findingCatalog';

/** GitHub Actions sets GITHUB_ACTIONS=true in every step; annotations are printed only there. */
export function shouldAnnotate(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

const COMMAND: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice' };

/**
 * One workflow-command line per finding (`::error title=…::message`, `::warning …`, `::notice …` for info), for stderr.
 * GitHub shows them as annotations on the run's summary page.
 */
export function githubAnnotations(findings: readonly Finding[]): string[] {
  return findings.map((finding) => {
    const title = `qwen-gen ${finding.code}: ${findingTitle(finding.code)}`;
    return `::${COMMAND[finding.severity]} title=${escapeProperty(title)}::${escapeData(`${finding.message} Action: ${finding.action}.`)}`;
  });
}

/** Workflow-command escaping (as in @actions/core): data escapes % CR LF; property values also escape : and ,. */
function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
