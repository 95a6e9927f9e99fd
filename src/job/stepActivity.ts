import { StepRunner } from '../runtime/stepRunner';

/**
 * Whether onnxruntime is working for the run on another thread: a model step (the direct runtime runs `Run` through
 * koffi's asynchronous call on a worker thread) or the session being created while the model loads (`CreateSession`,
 * likewise). Ending the process under such a call can crash in native code, so a second Ctrl-C waits for it first (see
 * interruption.ts). The job counts its runner's steps through `track` and the model load through `around`.
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

  /** `work` (the model load), counted as in flight until it settles. */
  async around<T>(work: Promise<T>): Promise<T> {
    this.running++;
    try {
      return await work;
    } finally {
      this.running--;
      if (this.running === 0) this.wakeWaiters();
    }
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
