/** The text of the generation progress line; pure, so its layout is tested without a terminal. */
export interface ProgressFigures {
  done: number;
  total: number;
  /** Tokens generated since the first decode step. */
  tokens: number;
  /** Seconds since the bar started (prefill included). */
  elapsed: number;
  /** Seconds since the first generated token (null before it): what tok/s is measured over. */
  decodeSeconds: number | null;
  columns: number;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `generating [█████░░░░░] 5/13 requests | 98.1 tok/s | ETA 0:12 | 0:05` (ETA from the request rate so far). */
export function progressLine(f: ProgressFigures): string {
  const phase = f.tokens === 0 && f.done === 0 ? 'prefill' : 'generating';
  const tps = f.decodeSeconds !== null && f.decodeSeconds > 0.05 ? (f.tokens / f.decodeSeconds).toFixed(1) : '–';
  const eta = f.done > 0 && f.done < f.total ? formatDuration((f.elapsed * (f.total - f.done)) / f.done) : f.done >= f.total ? '0:00' : '–';
  const tail = ` ${f.done}/${f.total} requests | ${tps} tok/s | ETA ${eta} | ${formatDuration(f.elapsed)}`;
  const head = `${phase.padEnd(10)} `;
  const width = Math.max(0, Math.min(30, f.columns - 1 - head.length - tail.length - 2));
  const filled = f.total > 0 ? Math.round((width * f.done) / f.total) : 0;
  const bar = width > 0 ? `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]` : '';
  return `${head}${bar}${tail}`.slice(0, Math.max(0, f.columns - 1));
}
