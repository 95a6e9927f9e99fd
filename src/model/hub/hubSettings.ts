/** Where hub models come from and where they are cached: options first, then environment variables. */
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../errors';

export const DEFAULT_HUB_URL = 'https://huggingface.co';
export const DEFAULT_REVISION = 'main';

export interface HubSettingsInput {
  revision?: string;
  offline?: boolean;
  hubUrl?: string;
  cacheDir?: string;
}

export interface HubSettings {
  revision: string;
  offline: boolean;
  hubUrl: string;
  cacheDir: string;
}

export function resolveHubSettings(input: HubSettingsInput, env: NodeJS.ProcessEnv = process.env): HubSettings {
  return {
    revision: checkRevision(input.revision ?? DEFAULT_REVISION),
    offline: input.offline === true || isTruthy(env.HF_HUB_OFFLINE) || isTruthy(env.TRANSFORMERS_OFFLINE),
    hubUrl: checkHubUrl(input.hubUrl ?? (env.QWEN_GEN_HUB_URL || env.HF_ENDPOINT || DEFAULT_HUB_URL)),
    cacheDir: path.resolve(input.cacheDir ?? defaultHubCacheDir(env)),
  };
}

/** $QWEN_GEN_CACHE/hub, else $XDG_CACHE_HOME/qwen-gen/hub, else ~/.cache/qwen-gen/hub (beside the tiny model's cache). */
export function defaultHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QWEN_GEN_CACHE) return path.join(env.QWEN_GEN_CACHE, 'hub');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'qwen-gen', 'hub');
}

/**
 * `org/name` as the hub accepts it (letters, digits, `-`, `_`, `.`; no `--` or `..`; at most 96 characters each):
 * the same rule transformers.js applies, narrowed to the two-part form.
 */
export function isHubModelId(spec: string): boolean {
  const match = /^([A-Za-z0-9][\w.-]{0,95})\/([A-Za-z0-9][\w.-]{0,95})$/.exec(spec);
  if (!match) return false;
  return !spec.includes('..') && !spec.includes('--') && !spec.endsWith('.git') && !/[.-]$/.test(match[1]);
}

/**
 * The folder transformers.js's file cache writes a model's files to: `{cacheDir}/{org}/{name}` for `main`,
 * `{cacheDir}/{org}/{name}/{revision}` for any other revision (its FileCache key scheme).
 */
export function hubCacheFolder(cacheDir: string, modelId: string, revision: string): string {
  const base = path.join(cacheDir, ...modelId.split('/'));
  return revision === DEFAULT_REVISION ? base : path.join(base, ...revision.split('/'));
}

function checkRevision(revision: string): string {
  if (!/^[\w.\-/]{1,255}$/.test(revision) || revision.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new UserError(`--revision "${revision}" is not a valid branch, tag or commit name`);
  }
  if (revision !== DEFAULT_REVISION && revision.split('/')[0] === 'onnx') {
    // its cache folder would sit inside main's onnx/ folder
    throw new UserError(`--revision "${revision}" cannot be cached beside the main revision's onnx/ folder; use the commit hash instead`);
  }
  return revision;
}

function checkHubUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`hub URL "${url}" is not a URL (expected e.g. https://huggingface.co or http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UserError(`hub URL "${url}" must use http or https`);
  }
  return parsed.href.endsWith('/') ? parsed.href : `${parsed.href}/`;
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}
