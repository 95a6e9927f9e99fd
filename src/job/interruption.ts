import { ExitCode } from '../errors';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface Interruption {
  /** Aborted at the first SIGINT/SIGTERM: the engine stops admitting work and returns at its next step boundary. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: NodeJS.Signals | null;
  /** Removes the handlers (the default signal behaviour comes back). */
  dispose(): void;
}

/**
 * SIGINT/SIGTERM handling for a generate run. The first signal aborts: every complete line is already written and synced,
 * so the run just stops after the current model step and the caller prints how to resume. A second signal exits at once
 * with 130 (no cleanup is needed for safety: nothing half-written is ever left behind). A model step blocks the JS
 * thread, so either signal is seen when the step ends.
 */
export function watchInterruptions(log: (message: string) => void, exit: (code: number) => void = (code) => process.exit(code)): Interruption {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const onSignal = (name: NodeJS.Signals) => {
    if (received) {
      log(`${name} again: stopping now`);
      exit(ExitCode.interrupted);
      return;
    }
    received = name;
    log(`${name}: stopping after the current step (complete lines are kept); press Ctrl-C again to stop at once`);
    controller.abort();
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
