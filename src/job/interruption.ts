import { ExitCode, UserError } from '../errors';
import { StepActivity } from './stepActivity';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** How long a second signal waits for the model step in flight before the process ends anyway. */
export const STEP_WAIT_MS = 5000;

export interface Interruption {
  /** Aborted at the first SIGINT/SIGTERM: the engine stops admitting work and returns at its next step boundary. */
  readonly signal: AbortSignal;
  /** The first signal received, if any. */
  readonly received: NodeJS.Signals | null;
  /** Removes the handlers (the default signal behaviour comes back). */
  dispose(): void;
}

export interface InterruptionOptions {
  /** The run's model steps: a second signal waits for the one in flight before exiting. */
  steps?: StepActivity;
  /** What the first signal does, for its message; default: stops after the current model step. */
  firstStopMessage?: () => string;
  exit?: (code: number) => void;
  /** Ends the process by the signal itself (no exit handlers, no native teardown) when a step outlasts STEP_WAIT_MS. */
  dieBySignal?: (name: NodeJS.Signals) => void;
  stepWaitMs?: number;
}

/** The reason a run's AbortSignal carries: a signal (exit 130) or --max-time (exit 3); see closeJob's runStop. */
export interface StopReason {
  reason: 'interrupted' | 'max_time';
  /** For messages: `SIGINT`, `--max-time 50m`. */
  by: string;
}

export function isStopReason(value: unknown): value is StopReason {
  const reason = (value as StopReason | null)?.reason;
  return (reason === 'interrupted' || reason === 'max_time') && typeof (value as StopReason).by === 'string';
}

export const STOP_AFTER_STEP = 'stopping after the current step (complete lines are kept); press Ctrl-C again to stop at once';

/**
 * SIGINT/SIGTERM handling for a generate run. The first signal aborts: every complete line is already written and synced,
 * so the run stops after the current model step and the caller prints how to resume. A second signal exits with 130
 * (no cleanup is needed for safety: nothing half-written is ever left behind) — but not under a model step in flight:
 * the direct runtime runs a step on a worker thread inside onnxruntime, and `process.exit` tears down the native
 * libraries under it. So it waits for that step (at most `STEP_WAIT_MS`); if the step outlasts that, the process ends
 * by the signal itself, which runs no native teardown (shells report it as 130 too).
 */
export function watchInterruptions(log: (message: string) => void, options: InterruptionOptions = {}): Interruption {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const dieBySignal = options.dieBySignal ?? defaultDieBySignal;
  const waitMs = options.stepWaitMs ?? STEP_WAIT_MS;
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  let stopping = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (received === null) {
      received = name;
      log(`${name}: ${options.firstStopMessage?.() ?? STOP_AFTER_STEP}`);
      controller.abort({ reason: 'interrupted', by: name } satisfies StopReason);
      return;
    }
    if (stopping) return; // already waiting for the step: one message is enough
    stopping = true;
    const steps = options.steps;
    if (!steps?.stepInFlight) {
      log(`${name} again: stopping now`);
      exit(ExitCode.interrupted);
      return;
    }
    log(`${name} again: stopping as soon as the onnxruntime call in flight (a model step, or the model loading) ends (at most ${waitMs / 1000} s)`);
    void steps.idle(waitMs).then((idle) => {
      if (idle) exit(ExitCode.interrupted);
      else {
        dispose();
        dieBySignal(name);
      }
    });
  };
  const dispose = () => {
    for (const name of SIGNALS) process.off(name, onSignal);
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose,
  };
}

function defaultDieBySignal(name: NodeJS.Signals): void {
  // Exit handlers (cursor, output lock) first: death by a signal skips them.
  process.emit('exit', ExitCode.interrupted);
  process.kill(process.pid, name);
}

/** The run was stopped (a signal, --max-time) while its input was still being read: nothing was generated or written. */
export class InputInterrupted extends UserError {
  constructor() {
    super('stopped while reading the input: nothing was generated', ExitCode.interrupted);
    this.name = 'InputInterrupted';
  }
}

/**
 * `reading`, unless `signal` aborts first: then InputInterrupted at once (a terminal or a pipe whose writer is still
 * open would otherwise keep the run waiting), and `stop` closes the source so the process can end.
 */
export function unlessAborted<T>(reading: Promise<T>, signal: AbortSignal | undefined, stop: () => void): Promise<T> {
  if (!signal) return reading;
  if (signal.aborted) {
    stop();
    reading.catch(() => undefined);
    return Promise.reject(new InputInterrupted());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      stop();
      reading.catch(() => undefined);
      reject(new InputInterrupted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    reading.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
