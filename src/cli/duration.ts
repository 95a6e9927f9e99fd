import { InvalidArgumentError } from 'commander';

/** Parses `50m`, `90s`, `1h30m`, `2h`, `1.5h`, or plain seconds (`600`) into milliseconds; null when not a duration. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) > 0 ? Number(trimmed) * 1000 : null;
  const units: Record<string, number> = { h: 3600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) return null;
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
  return ms > 0 ? ms : null;
}

export function durationOption(flag: string) {
  return (value: string): number => {
    const ms = parseDuration(value);
    if (ms === null) throw new InvalidArgumentError(`${flag} must be a duration such as 50m, 90s, 1h30m or 600 (seconds), got "${value}"`);
    if (ms < 1000) throw new InvalidArgumentError(`${flag} must be at least 1s, got "${value}": a run stopped that early generates nothing`);
    return ms;
  };
}

/** 3000000 → "50m", 5400000 → "1h30m", 1500 → "1.5s". */
export function describeDuration(ms: number): string {
  const h = Math.floor(ms / 3600_000);
  const m = Math.floor((ms % 3600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${Number(s.toFixed(3))}s` : ''].join('') || '0s';
}
