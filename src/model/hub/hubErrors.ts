/** Turns what transformers.js and fetch throw during a hub download into messages a user can act on. */
import { UserError } from '../../errors';

export interface HubErrorContext {
  modelId: string;
  revision: string;
  hubUrl: string;
  /** The files being downloaded when the error happened (best guess of the culprit). */
  files: string[];
  /** Appended to every message (e.g. the `-m tiny` hint for the default model). */
  hint?: string;
}

/** Thrown when a downloaded file does not have the size the server announced. */
export class TruncatedDownloadError extends Error {
  constructor(
    readonly file: string,
    readonly announced: number,
    readonly received: number,
  ) {
    super(`${file}: received ${received} of ${announced} bytes`);
    this.name = 'TruncatedDownloadError';
  }
}

export function hubUserError(error: unknown, context: HubErrorContext): UserError {
  if (error instanceof UserError) return error;
  const where = `${context.modelId} (revision ${context.revision}) from ${context.hubUrl}`;
  const files = context.files.length ? context.files.join(', ') : 'a model file';
  const hint = context.hint ? ` ${context.hint}` : '';
  const status = httpStatus(error);
  if (status !== undefined) {
    const file = fileOfUrl(errorParts(error).message);
    if (file ? file === 'config.json' : context.files.includes('config.json')) {
      const access = status === 401 || status === 403 ? ' (a private or gated model needs HF_TOKEN)' : '';
      return new UserError(`model ${where} not found: config.json → HTTP ${status}${access}. Check the model id and --revision.${hint}`);
    }
    return new UserError(`cannot download ${file ?? files} of ${where}: HTTP ${status}.${hint}`);
  }
  if (error instanceof TruncatedDownloadError) {
    return new UserError(`download of ${error.file} of ${where} was cut short (${error.received} of ${error.announced} bytes); the partial file was removed — run again to retry.${hint}`);
  }
  // fetch's errors come from Node's own realm (not a test sandbox's): compare names, not classes
  const { name, message } = errorParts(error);
  if (name === 'RangeError' && /array (buffer )?length/i.test(message)) {
    return new UserError(`${files} of ${where} is too large to download in one piece (transformers.js buffers external data files, at most 4 GiB each); choose a smaller --dtype such as q4 or q8.${hint}`);
  }
  const cause = causeText(error);
  if (name === 'TypeError' && message === 'terminated') {
    return new UserError(`download of ${files} of ${where} was interrupted (${cause || 'connection dropped'}); nothing partial was kept in the cache — run again to retry.${hint}`);
  }
  if (name === 'TypeError' && message === 'fetch failed') {
    return new UserError(`cannot reach ${context.hubUrl} to download ${files} of ${context.modelId}${cause ? ` (${cause})` : ''}. Use --offline to run from the cache, or --hub-url / QWEN_GEN_HUB_URL for a mirror.${hint}`);
  }
  return new UserError(`downloading ${files} of ${where} failed: ${message}${hint}`);
}

export function errorParts(error: unknown): { name: string; message: string } {
  if (error && typeof error === 'object' && typeof (error as Error).message === 'string') {
    return { name: String((error as Error).name), message: (error as Error).message };
  }
  return { name: '', message: String(error) };
}

/** transformers.js's HTTP errors quote the URL: `…: "https://host/org/name/resolve/main/onnx/model.onnx".` */
function fileOfUrl(message: string): string | undefined {
  const match = /"https?:\/\/[^"]*?\/resolve\/[^/"]+\/([^"]+)"/.exec(message);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** The HTTP status of transformers.js's errors: ModelFileNotFoundError carries it; other statuses are in the message. */
export function httpStatus(error: unknown): number | undefined {
  const status = error && typeof error === 'object' ? (error as { status?: unknown }).status : undefined;
  if (typeof status === 'number') return status;
  const { name, message } = errorParts(error);
  if (name === 'ModelFileNotFoundError' && /Could not locate file/.test(message)) return 404;
  const match = /^(?:Error \((\d{3})\) occurred|(?:Bad request|Unauthorized|Forbidden|Request timeout|Internal server|Bad gateway|Service unavailable|Gateway timeout))[^:]*: "http/.exec(message);
  if (!match) return undefined;
  if (match[1]) return Number(match[1]);
  const byText: Record<string, number> = {
    'Bad request': 400, Unauthorized: 401, Forbidden: 403, 'Request timeout': 408,
    'Internal server': 500, 'Bad gateway': 502, 'Service unavailable': 503, 'Gateway timeout': 504,
  };
  const key = Object.keys(byText).find((text) => message.startsWith(text));
  return key ? byText[key] : undefined;
}

function causeText(error: unknown): string {
  const cause = error && typeof error === 'object' ? (error as { cause?: unknown }).cause : undefined;
  if (!cause) return '';
  const { message } = errorParts(cause);
  const code = typeof cause === 'object' ? (cause as { code?: unknown }).code : undefined;
  if (typeof code !== 'string' || message.includes(code)) return message;
  return message ? `${code}: ${message}` : code;
}
