/**
 * transformers.js reads its hub and cache settings from one global `env` object. Downloads set exactly the
 * settings they rely on, one download at a time, and put the previous values back afterwards (the tokenizer
 * loader sets some of the same fields for its own purpose).
 */
import { env } from '@huggingface/transformers';

type HubEnvKey =
  | 'remoteHost'
  | 'remotePathTemplate'
  | 'allowRemoteModels'
  | 'allowLocalModels'
  | 'useFS'
  | 'useFSCache'
  | 'useBrowserCache'
  | 'useCustomCache';

const HUB_PATH_TEMPLATE = '{model}/resolve/{revision}/';

let queue: Promise<unknown> = Promise.resolve();

/** Runs `task` with transformers.js fetching from `remoteHost` into its file-system cache, never from local model folders. */
export function withTransformersHubEnv<T>(remoteHost: string, task: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    const settings: Pick<typeof env, HubEnvKey> = {
      remoteHost,
      remotePathTemplate: HUB_PATH_TEMPLATE,
      allowRemoteModels: true,
      // with local models allowed, transformers.js would first look under env.localModelPath and then
      // not copy what it found into the cache folder this module returns
      allowLocalModels: false,
      useFS: true,
      useFSCache: true,
      useBrowserCache: false,
      useCustomCache: false,
    };
    const keys = Object.keys(settings) as HubEnvKey[];
    const saved = Object.fromEntries(keys.map((key) => [key, env[key]]));
    Object.assign(env, settings);
    try {
      return await task();
    } finally {
      Object.assign(env, saved);
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}
