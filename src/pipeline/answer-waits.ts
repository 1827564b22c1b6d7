import type { TargetAnswer } from "../plugins/targets/target.js";

/**
 * How the answering attempt of `respond.target` went, as the webhook's request hears it:
 * `answered` (delivered; the target's answer), `failed` (it will be retried as usual), or
 * `skipped` (the target's filter said no: nothing to answer with).
 */
export type AttemptAnswer = { kind: "answered"; answer: TargetAnswer } | { kind: "failed"; error: string } | { kind: "skipped" };

interface Waiter {
  resolve(r: AttemptAnswer | "timeout"): void;
  timer: NodeJS.Timeout;
}

/**
 * The requests waiting for the first attempt of one of their event's deliveries: the ingress
 * registers one before the event is stored, the worker tells it how the attempt went. Bounded by
 * the requests in flight (max_connections, the body budget); each waits at most its timeout.
 */
export class AnswerWaits {
  private readonly waiting = new Map<string, Waiter>();

  get size(): number {
    return this.waiting.size;
  }

  /** Waits for the first attempt of (event, target); "timeout" after `timeoutMs`, or when cancelled. */
  expect(eventId: string, target: string, timeoutMs: number): { result: Promise<AttemptAnswer | "timeout">; cancel(): void } {
    const key = keyOf(eventId, target);
    let waiter: Waiter | undefined;
    const result = new Promise<AttemptAnswer | "timeout">((resolve) => {
      const timer = setTimeout(() => this.finish(key, "timeout"), timeoutMs);
      waiter = { resolve, timer };
    });
    if (waiter) this.waiting.set(key, waiter);
    return { result, cancel: () => this.finish(key, "timeout") };
  }

  /** Whether a request waits for this delivery's attempt: the worker then keeps the target's answer. */
  wants(eventId: string, target: string): boolean {
    return this.waiting.has(keyOf(eventId, target));
  }

  /** The attempt's result, to the request waiting for it (if it still does). */
  settle(eventId: string, target: string, r: AttemptAnswer): void {
    this.finish(keyOf(eventId, target), r);
  }

  private finish(key: string, r: AttemptAnswer | "timeout"): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    clearTimeout(w.timer);
    w.resolve(r);
  }
}

function keyOf(eventId: string, target: string): string {
  return `${eventId}\u0000${target}`;
}
