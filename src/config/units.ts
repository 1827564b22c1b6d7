/** Durations (`250ms`, `10s`, `5m`, `2h`, `1d`) and sizes (`512kb`, `1mb`) as written in the config. */

export const DURATION_PATTERN = "^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$";
export const SIZE_PATTERN = "^[0-9]+(\\.[0-9]+)?(b|kb|mb|gb)$";

const DURATION_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_BYTES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

function parseUnit(text: string, units: Record<string, number>, kind: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([a-z]+)$/.exec(text.trim().toLowerCase());
  const factor = m ? units[m[2] as string] : undefined;
  if (!m || factor === undefined) throw new Error(`not a ${kind}: "${text}"`);
  return Math.round(Number(m[1]) * factor);
}

/** Milliseconds in a duration string. */
export function parseDuration(text: string): number {
  return parseUnit(text, DURATION_MS, "duration (use 250ms, 10s, 5m, 2h, 1d)");
}

/** Bytes in a size string. */
export function parseSize(text: string): number {
  return parseUnit(text, SIZE_BYTES, "size (use 512kb, 1mb)");
}

/** A byte count as the config would write it: `1mb`, `512kb`, else `1500b`. */
export function formatSize(bytes: number): string {
  for (const unit of ["gb", "mb", "kb"] as const) {
    const factor = SIZE_BYTES[unit] as number;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}b`;
}
