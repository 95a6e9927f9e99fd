/**
 * For tests only: `QWEN_GEN_TEST_MAX_TIME_AFTER_REQUESTS=N` makes --max-time's deadline fall once N requests are done
 * instead of after the duration — a fixed amount of work, so that a test of --max-time does not depend on the speed of
 * the machine it runs on. Without --max-time it does nothing.
 */
export const MAX_TIME_TEST_VARIABLE = 'QWEN_GEN_TEST_MAX_TIME_AFTER_REQUESTS';

export interface MaxTimeDeadline {
  /** To be called with the number of requests done so far. */
  requestsDone(done: number): void;
  clear(): void;
}

/** --max-time's deadline: calls `reached` after `maxTimeMs` (from now), or as MAX_TIME_TEST_VARIABLE says. */
export function startMaxTimeDeadline(maxTimeMs: number | undefined, reached: () => void, env: NodeJS.ProcessEnv = process.env): MaxTimeDeadline {
  if (maxTimeMs === undefined) return { requestsDone: () => undefined, clear: () => undefined };
  const afterRequests = Number(env[MAX_TIME_TEST_VARIABLE]);
  if (Number.isSafeInteger(afterRequests) && afterRequests > 0) {
    return { requestsDone: (done) => void (done >= afterRequests && reached()), clear: () => undefined };
  }
  const timer = setTimeout(reached, maxTimeMs);
  timer.unref();
  return { requestsDone: () => undefined, clear: () => clearTimeout(timer) };
}
