import { parseDuration } from "../config/units.js";

/** How often and how patiently a target's failed deliveries are retried, in milliseconds. */
export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  /** Base delay, doubled after each failed try. */
  backoffMs: number;
  /** Cap on one delay, a target's Retry-After included. */
  maxBackoffMs: number;
}

/**
 * The contract's defaults: 8 tries, so 7 waits of at most 1, 2, 4 … 64 s (about two minutes in
 * all at worst, one on average); a Retry-After can stretch one wait up to 10 minutes.
 */
export const RETRY_DEFAULTS = { attempts: 8, backoff: "1s", max_backoff: "10m" } as const;

export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
  attempts: RETRY_DEFAULTS.attempts,
  backoffMs: parseDuration(RETRY_DEFAULTS.backoff),
  maxBackoffMs: parseDuration(RETRY_DEFAULTS.max_backoff),
};

/** The `retry` block as written in the config; every field optional. */
export interface RetryConfig {
  attempts?: number;
  backoff?: string;
  max_backoff?: string;
}

export function resolveRetryPolicy(retry?: RetryConfig): RetryPolicy {
  return {
    attempts: retry?.attempts ?? DEFAULT_RETRY.attempts,
    backoffMs: retry?.backoff !== undefined ? parseDuration(retry.backoff) : DEFAULT_RETRY.backoffMs,
    maxBackoffMs: retry?.max_backoff !== undefined ? parseDuration(retry.max_backoff) : DEFAULT_RETRY.maxBackoffMs,
  };
}

/**
 * Milliseconds to wait after failed try number `attempt` (1-based).
 *
 * Exponential backoff with full jitter: a uniformly random wait in [0, min(max, base·2^(n-1))).
 * Jitter spreads the retries of many events that failed together (a target that was down for
 * a minute) instead of hammering it in lockstep when it comes back.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 *
 * A target's Retry-After is a floor (it told us when it can take more), but still capped by
 * `maxBackoffMs`, so a target answering `Retry-After: 86400` cannot park an event for a day
 * unless the user allowed it.
 */
export function retryDelay(
  attempt: number,
  policy: Pick<RetryPolicy, "backoffMs" | "maxBackoffMs">,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const max = Math.max(0, policy.maxBackoffMs);
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 1100 is Infinity, and Math.min takes care of it; no overflow to guard against.
  const ceiling = Math.min(max, Math.max(0, policy.backoffMs) * 2 ** (n - 1));
  const jittered = Math.floor(random() * ceiling);
  const floor = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0 ? retryAfterMs : 0;
  return Math.min(max, Math.max(jittered, Math.ceil(floor)));
}

const UNITS: readonly [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** A delay or timeout the way the config writes it (`300ms`, `10s`, `5m`), for logs and error texts. */
export function formatDelay(ms: number): string {
  for (const [unit, size] of UNITS) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return ms >= 1_000 ? `${Number((ms / 1_000).toFixed(1))}s` : `${Math.round(ms)}ms`;
}
