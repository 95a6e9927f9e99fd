import { ExitCode } from '../errors';
import { Finding, SEVERITY_RANK } from './finding';
import { plural } from '../plural';

/** `--fail-on`: the lowest severity that fails the run; `never` only reports. */
export type FailOn = 'never' | 'warning' | 'error';

export const FAIL_ON_LEVELS: readonly FailOn[] = ['never', 'warning', 'error'];

export const DEFAULT_FAIL_ON: FailOn = 'error';

/** The findings that trip the gate at this level. */
export function gateFindings(findings: readonly Finding[], failOn: FailOn): Finding[] {
  if (failOn === 'never') return [];
  return findings.filter((finding) => SEVERITY_RANK[finding.severity] >= SEVERITY_RANK[failOn]);
}

/** 0 when the gate passes, 1 (the documented "some requests failed or the gate tripped" code) when it trips. */
export function gateExitCode(findings: readonly Finding[], failOn: FailOn): number {
  return gateFindings(findings, failOn).length > 0 ? ExitCode.someFailed : ExitCode.ok;
}

/** Why a run ends with its exit code (the report's `exit.reason`). */
export type ExitReason = 'completed' | 'findings' | 'failed_requests' | 'interrupted' | 'max_time';

/** A run stopped before every request was done: by a signal (exit 130) or by --max-time (exit 3). */
export interface RunStop {
  reason: 'interrupted' | 'max_time';
  /** What stopped it, for messages: `SIGINT`, `--max-time 50m`. */
  by: string;
  /** Requests neither written nor failed. */
  notDone: number;
}

/** The report's `exit`: the process exit code of the run and why, with the --fail-on level it was gated at. */
export interface ReportExit {
  fail_on: FailOn;
  code: number;
  reason: ExitReason;
  /** With reason failed_requests: the requests that ended as error records (or would, in a dry run). */
  requests_failed?: number;
  /** With reason interrupted or max_time: the requests not done, and what stopped the run. */
  requests_not_done?: number;
  stopped_by?: string;
}

/**
 * The one exit-code rule of a run: stopped (130 for a signal, 3 for --max-time) beats the gate, which beats failed
 * requests (exit 1 even when their finding is ignored or the gate is `never`: an error record is not a success), which
 * beat success.
 */
export function runExit(findings: readonly Finding[], failOn: FailOn, failedRequests: number, stop: RunStop | null): ReportExit {
  if (stop) {
    return {
      fail_on: failOn,
      code: stop.reason === 'interrupted' ? ExitCode.interrupted : ExitCode.maxTime,
      reason: stop.reason,
      requests_not_done: stop.notDone,
      stopped_by: stop.by,
    };
  }
  if (gateExitCode(findings, failOn) !== ExitCode.ok) return { fail_on: failOn, code: ExitCode.someFailed, reason: 'findings' };
  if (failedRequests > 0) return { fail_on: failOn, code: ExitCode.someFailed, reason: 'failed_requests', requests_failed: failedRequests };
  return { fail_on: failOn, code: ExitCode.ok, reason: 'completed' };
}

/** The gate's verdict for humans, ending with the exit code; `tone` picks its colour. */
export function exitVerdict(exit: ReportExit): { text: string; tone: 'good' | 'bad' | 'stopped' } {
  const gate = `--fail-on ${exit.fail_on}`;
  const level = exit.fail_on === 'warning' ? 'warning or error' : 'error';
  switch (exit.reason) {
    case 'completed':
      return { text: `${gate}: ${exit.fail_on === 'never' ? 'report only' : `passed (no ${level})`} — exit ${exit.code}`, tone: 'good' };
    case 'findings':
      return { text: `${gate}: failed — exit ${exit.code}`, tone: 'bad' };
    case 'failed_requests': {
      const failed = plural(exit.requests_failed ?? 0, 'request');
      const gateText = exit.fail_on === 'never' ? 'report only' : `passed (no ${level} finding)`;
      return { text: `${gate}: ${gateText}, but ${failed} failed (error records) — exit ${exit.code}`, tone: 'bad' };
    }
    default: {
      const what = exit.reason === 'max_time' ? `stopped by ${exit.stopped_by ?? '--max-time'}` : `interrupted${exit.stopped_by ? ` by ${exit.stopped_by}` : ''}`;
      const notDone = exit.requests_not_done === undefined ? '' : `, ${plural(exit.requests_not_done, 'request')} not done`;
      return { text: `${gate}: not applied (${what}${notDone}) — exit ${exit.code}`, tone: 'stopped' };
    }
  }
}
