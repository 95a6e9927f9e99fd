import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MODEL_FILE, TINY_BUILDER_VERSION, buildTinyModel } from './buildTinyModel';

/**
 * Where the default tiny model lives: $QWEN_GEN_TINY_DIR, else $QWEN_GEN_CACHE/tiny-v<N>,
 * else $XDG_CACHE_HOME/qwen-gen/tiny-v<N>, else ~/.cache/qwen-gen/tiny-v<N>.
 */
export function tinyModelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const versioned = `tiny-v${TINY_BUILDER_VERSION}`;
  if (env.QWEN_GEN_TINY_DIR) return path.resolve(env.QWEN_GEN_TINY_DIR);
  if (env.QWEN_GEN_CACHE) return path.resolve(env.QWEN_GEN_CACHE, versioned);
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.resolve(cacheHome, 'qwen-gen', versioned);
}

const pending = new Map<string, Promise<string>>();

/**
 * Returns the folder of the default tiny model, building it on first use. The build goes to a
 * temporary folder beside the target and is renamed into place, so concurrent processes never
 * see a half-written model (the loser of a race discards its copy).
 */
export function ensureTinyModel(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = tinyModelCacheDir(env);
  let result = pending.get(dir);
  if (!result) {
    result = buildOnce(dir).finally(() => pending.delete(dir));
    pending.set(dir, result);
  }
  return result;
}

async function buildOnce(dir: string): Promise<string> {
  if (isComplete(dir)) return dir;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const temp = fs.mkdtempSync(`${dir}.partial-${process.pid}-`);
  try {
    await buildTinyModel(temp);
    try {
      fs.renameSync(temp, dir); // atomic; replaces `dir` only if it is an empty directory
    } catch (error) {
      if (!isComplete(dir)) {
        throw new Error(`cannot create the tiny model in ${dir}: ${(error as Error).message}`);
      }
      // another process finished first: use its copy
    }
    return dir;
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

function isComplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, MODEL_FILE)) && fs.existsSync(path.join(dir, 'config.json'));
}
