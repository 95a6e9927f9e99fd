import { UserError } from '../errors';
import { MemoryPlan } from '../schedule/memoryBudget';

/**
 * An explicit --max-memory must hold what one request needs: its cache (prompt + max_tokens) and one prefill step.
 * Below that the scheduler would still run the request, past the budget the user set, so the run is refused before it
 * starts, with the size that would do. `planFor` plans for another budget (the same model and runtime).
 */
export function checkMemoryFloor(plan: MemoryPlan, longestSequence: number, planFor: (budgetBytes: number) => MemoryPlan): void {
  if (longestSequence === 0 || fits(plan, longestSequence)) return;
  let enough = 1024 ** 2;
  while (enough < 2 ** 50 && !fits(planFor(enough), longestSequence)) enough *= 2;
  let low = enough / 2;
  while (enough - low > 1024 ** 2) {
    const middle = (low + enough) / 2;
    if (fits(planFor(middle), longestSequence)) enough = middle;
    else low = middle;
  }
  const needs = plan.prefillBytes > plan.budgetBytes
    ? `one prefill step alone takes ${mib(plan.prefillBytes)}`
    : `the longest request (${longestSequence} tokens of prompt + max_tokens) needs ${mib(longestSequence * plan.kvBytesPerToken)} of KV cache beside a prefill step`;
  throw new UserError(
    `--max-memory ${mib(plan.budgetBytes)} is too small for this run: ${needs}, and the budget would not be kept; ` +
      `give at least --max-memory ${Math.ceil(enough / 1024 ** 2)}MB (or lower max_tokens)`,
  );
}

function fits(plan: MemoryPlan, longestSequence: number): boolean {
  return plan.prefillBytes <= plan.budgetBytes && plan.maxCacheTokens >= longestSequence;
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)}MB` : `${Math.round(bytes / 1024) || 1}KB`;
}
