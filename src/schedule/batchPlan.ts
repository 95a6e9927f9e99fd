import { Scheduler, SchedulerLimits } from './scheduler';

/** One sequence as the scheduler sees it: its prompt and the most tokens it may generate. */
export interface PlannedSequence {
  id: string | number;
  promptLength: number;
  maxTokens: number;
}

export interface PlannedGroup {
  /** Request ids of the group, in admission order (a request with n samples appears n times). */
  ids: (string | number)[];
  /** Prefill positions computed (rows × longest prompt, chunks of a long prompt included). */
  positions: number;
  /** Real prompt tokens among them. */
  promptTokens: number;
}

/**
 * The prefill groups the engine would admit, by running the same Scheduler on the same limits, assuming every sequence
 * generates its full max_tokens (the worst case: an eos ends a row early and frees its row sooner). Pure code: no model.
 */
export function planBatches(sequences: readonly PlannedSequence[], limits: SchedulerLimits): PlannedGroup[] {
  const scheduler = new Scheduler(
    sequences.map((s) => ({ ...s, maxLength: s.promptLength + s.maxTokens })),
    limits,
  );
  const groups: PlannedGroup[] = [];
  let running: { left: number; grown: number }[] = [];
  while (scheduler.pending > 0 || running.length > 0) {
    const admitted = scheduler.admit(running.length, running.reduce((sum, row) => sum + row.grown, 0));
    if (admitted.length > 0) {
      const longest = Math.max(...admitted.map((s) => s.promptLength));
      groups.push({
        ids: admitted.map((s) => s.id),
        positions: admitted.length === 1 ? longest : longest * admitted.length,
        promptTokens: admitted.reduce((sum, s) => sum + s.promptLength, 0),
      });
      // The prefill step yields each row's first token.
      running.push(...admitted.map((s) => ({ left: s.maxTokens - 1, grown: s.maxLength })));
    }
    if (running.length === 0) continue;
    // The engine tries to admit before every decode step: with free rows and requests waiting (a group cut short by the
    // padding or memory rule), one step; otherwise jump to the step where the next row finishes and frees its row.
    const waitingForRows = running.length >= limits.batchSize || scheduler.pending === 0;
    const steps = waitingForRows ? Math.max(0, Math.min(...running.map((row) => row.left))) : 1;
    running = running.map((row) => ({ ...row, left: row.left - steps })).filter((row) => row.left > 0);
  }
  return groups;
}
