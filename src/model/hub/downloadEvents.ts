/**
 * Progress events of hub downloads: transformers.js's own `progress_callback` events, reduced to one shape.
 * The tracker also remembers which files are in flight (to name them when a download fails) and the size the
 * server announced for each (to check the cached file against it).
 */

export interface DownloadProgress {
  status: 'initiate' | 'download' | 'progress' | 'done';
  /** Repository id, e.g. onnx-community/Qwen3-0.6B-ONNX. */
  model: string;
  /** File path inside the repository, e.g. onnx/model_q4.onnx. */
  file: string;
  /** Bytes received so far ('progress' only). */
  loaded?: number;
  /** Bytes announced by the server (Content-Length), 0 when unknown ('progress' only). */
  total?: number;
}

const STATUSES = new Set<DownloadProgress['status']>(['initiate', 'download', 'progress', 'done']);

export class DownloadTracker {
  private readonly started = new Set<string>();
  private readonly finished = new Set<string>();
  private readonly fromCache = new Set<string>();
  private readonly announced = new Map<string, number>();

  /**
   * `isCached` says whether a file is already in the cache: transformers.js reports reading a cached file
   * with the same events as downloading it, and those are not downloads.
   */
  constructor(
    private readonly forward: ((event: DownloadProgress) => void) | undefined,
    private readonly isCached: (file: string) => boolean,
  ) {}

  /** The callback handed to transformers.js (it also emits aggregate events, which are dropped here). */
  readonly callback = (info: unknown): void => {
    const event = toDownloadProgress(info);
    if (!event) return;
    if (event.status === 'initiate') {
      // a file appears in the cache only once complete (renamed into place), so this check cannot race its download
      if (this.isCached(event.file)) this.fromCache.add(event.file);
      else this.fromCache.delete(event.file);
    }
    if (this.fromCache.has(event.file)) return;
    if (event.status === 'initiate') this.started.add(event.file);
    if (event.status === 'done') this.finished.add(event.file);
    if (event.status === 'progress' && event.total) this.announced.set(event.file, event.total);
    this.forward?.(event);
  };

  /** Starts a new transformers.js call: files of earlier calls (e.g. optional ones that were 404) are not in flight. */
  beginCall(): void {
    this.started.clear();
    this.finished.clear();
  }

  /** Files that began downloading in this call and have not finished (the likely culprits of a failure). */
  inFlight(): string[] {
    return [...this.started].filter((file) => !this.finished.has(file));
  }

  /** The size the server announced for a file, when it announced one. */
  announcedBytes(file: string): number | undefined {
    return this.announced.get(file);
  }
}

function toDownloadProgress(info: unknown): DownloadProgress | undefined {
  if (!info || typeof info !== 'object') return undefined;
  const record = info as Record<string, unknown>;
  const status = record.status as DownloadProgress['status'];
  if (!STATUSES.has(status) || typeof record.file !== 'string') return undefined;
  const event: DownloadProgress = { status, model: typeof record.name === 'string' ? record.name : '', file: record.file };
  if (status === 'progress') {
    event.loaded = typeof record.loaded === 'number' ? record.loaded : 0;
    event.total = typeof record.total === 'number' ? record.total : 0;
  }
  return event;
}
