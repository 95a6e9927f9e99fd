import { StepRunner } from '../runtime/stepRunner';

/**
 * Whether a model step of the run is in flight. The direct runtime runs a step on a worker thread (koffi's asynchronous
 * call into onnxruntime's `Run`): ending the process under it can crash in native code, so a second Ctrl-C waits for
 * the step first (see interruption.ts). The job counts the steps of its runner through `track`.
 */
export class StepActivity {
  private running = 0;
  private waiters: Array<() => void> = [];

  get stepInFlight(): boolean {
    return this.running > 0;
  }

  /** The same runner, with every `step` counted while it runs (every other member is the runner's own). */
  track<R extends StepRunner>(runner: R): R {
    const step = async (...args: Parameters<StepRunner['step']>) => {
      this.running++;
      try {
        return await runner.step(...args);
      } finally {
        this.running--;
        if (this.running === 0) this.wakeWaiters();
      }
    };
    return new Proxy(runner, {
      get(target, property) {
        if (property === 'step') return step;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Resolves true once no step is in flight, or false after `timeoutMs` with one still running. */
  idle(timeoutMs: number): Promise<boolean> {
    if (!this.stepInFlight) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
