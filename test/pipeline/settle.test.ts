import { describe, expect, it } from "vitest";
import { settlementFor } from "../../src/pipeline/settle.js";

const policy = { attempts: 3, backoffMs: 1000, maxBackoffMs: 60_000 };
const now = 1_000_000;
const half = () => 0.5;

describe("settlementFor", () => {
  it.each([
    ["delivered", { kind: "delivered", detail: "HTTP 204" }, 1, { kind: "delivered", detail: "HTTP 204" }],
    ["a permanent failure goes to the dead letters at once", { kind: "fail", error: "HTTP 404" }, 1, { kind: "dead", error: "HTTP 404" }],
    [
      "a first failure is retried with jitter",
      { kind: "retry", error: "HTTP 503" },
      1,
      { kind: "retry", at: now + 500, error: "HTTP 503" },
    ],
    ["the wait doubles", { kind: "retry", error: "HTTP 503" }, 2, { kind: "retry", at: now + 1000, error: "HTTP 503" }],
    [
      "Retry-After is honoured",
      { kind: "retry", error: "HTTP 429", retryAfterMs: 30_000 },
      1,
      { kind: "retry", at: now + 30_000, error: "HTTP 429" },
    ],
    [
      "Retry-After is capped by max_backoff",
      { kind: "retry", error: "HTTP 429", retryAfterMs: 3_600_000 },
      1,
      { kind: "retry", at: now + 60_000, error: "HTTP 429" },
    ],
    [
      "the last attempt's failure is dead",
      { kind: "retry", error: "exit 1" },
      3,
      { kind: "dead", error: "exit 1 (gave up after 3 attempts)" },
    ],
  ] as const)("%s", (_name, outcome, attempt, expected) => {
    expect(settlementFor(outcome, attempt, policy, now, half)).toEqual(expected);
  });
});
