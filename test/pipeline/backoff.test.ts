import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, formatDelay, resolveRetryPolicy, retryDelay } from "../../src/pipeline/backoff.js";

const policy = { backoffMs: 1_000, maxBackoffMs: 60_000 };

describe("retryDelay", () => {
  it.each([
    // attempt, random, retryAfterMs, expected
    [1, 0.5, undefined, 500],
    [2, 0.5, undefined, 1_000],
    [3, 0.5, undefined, 2_000],
    [1, 0.999, undefined, 999],
    [7, 1, undefined, 60_000], // 64 s capped at 60 s
    [50, 0.5, undefined, 30_000], // huge attempts stay capped
    [2000, 0.5, undefined, 30_000], // 2 ** 1999 is Infinity: still capped
    [1, 0, undefined, 0], // full jitter can mean "now"
    [0, 0.5, undefined, 500], // nonsense attempt numbers are treated as the first
    [1, 0.5, 5_000, 5_000], // Retry-After is a floor
    [3, 0.9, 1_000, 3_600], // jitter above Retry-After wins
    [1, 0.5, 3_600_000, 60_000], // Retry-After capped by max_backoff
    [1, 0.5, 0, 500],
    [1, 0.5, -10, 500],
    [1, 0.5, Number.NaN, 500],
  ])("attempt %i, random %f, retry-after %s -> %i ms", (attempt, r, retryAfter, expected) => {
    expect(retryDelay(attempt, policy, retryAfter, () => r)).toBe(expected);
  });

  it("draws a fresh random number for every delay, within [0, ceiling)", () => {
    for (let i = 0; i < 200; i++) {
      const d = retryDelay(4, policy);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(8_000);
    }
  });
});

describe("resolveRetryPolicy", () => {
  it.each([
    [undefined, DEFAULT_RETRY],
    [{}, { attempts: 8, backoffMs: 1_000, maxBackoffMs: 600_000 }],
    [
      { attempts: 3, backoff: "5s" },
      { attempts: 3, backoffMs: 5_000, maxBackoffMs: 600_000 },
    ],
    [
      { attempts: 1, backoff: "250ms", max_backoff: "1h" },
      { attempts: 1, backoffMs: 250, maxBackoffMs: 3_600_000 },
    ],
  ])("%j -> %j", (retry, expected) => {
    expect(resolveRetryPolicy(retry)).toEqual(expected);
  });

  it("rejects a malformed duration", () => {
    expect(() => resolveRetryPolicy({ backoff: "soon" })).toThrow(/duration/);
  });
});

describe("formatDelay", () => {
  it.each([
    [300, "300ms"],
    [10_000, "10s"],
    [300_000, "5m"],
    [7_200_000, "2h"],
    [86_400_000, "1d"],
    [1_500, "1.5s"],
    [90_000, "90s"],
  ])("%i -> %s", (ms, text) => {
    expect(formatDelay(ms)).toBe(text);
  });
});
