import type { DeliveryOutcome } from "../plugins/targets/target.js";
import type { Settlement } from "../store/store.js";
import { type RetryPolicy, retryDelay } from "./backoff.js";

/**
 * A delivery outcome → what the store records: done, retry at t, or dead letter.
 * Pure, so the policy is table-tested without a clock or a target.
 */
export function settlementFor(
  outcome: DeliveryOutcome,
  attempt: number,
  policy: RetryPolicy,
  now: number,
  random = Math.random,
): Settlement {
  switch (outcome.kind) {
    case "delivered":
      return { kind: "delivered", detail: outcome.detail };
    case "fail":
      return { kind: "dead", error: outcome.error };
    case "retry":
      if (attempt >= policy.attempts)
        return { kind: "dead", error: `${outcome.error} (gave up after ${attempt} attempt${attempt === 1 ? "" : "s"})` };
      return { kind: "retry", at: now + retryDelay(attempt, policy, outcome.retryAfterMs, random), error: outcome.error };
  }
}
