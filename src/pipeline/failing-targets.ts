import type { TargetKey } from "../store/store.js";

/**
 * What the worker knows of deliveries that keep failing, per target, for the periodic summary
 * that replaces a warning per retry: a backlog of 20 000 retrying events would otherwise write
 * a log line per attempt. Only deliveries this worker tried are known; an entry that was not
 * tried again by its due time plus `staleAfterMs` (another instance took it, a replay, a
 * prune) is forgotten, so the map stays as small as the backlog.
 */

export interface FailingSummary extends TargetKey {
  failing: number;
  /** Age of the oldest failing event, in seconds since it was received. */
  oldestAgeSeconds: number;
  lastError: string;
}

interface Failing {
  receivedAtMs: number;
  retryAt: number;
}

interface TargetFailures extends TargetKey {
  deliveries: Map<string, Failing>;
  lastError: string;
}

export class FailingTargets {
  private readonly byTarget = new Map<string, TargetFailures>();

  constructor(private readonly staleAfterMs: number) {}

  /** A retry was scheduled for this delivery. */
  failed(key: TargetKey, deliveryId: string, receivedAtMs: number, retryAt: number, error: string): void {
    const id = `${key.route}\u0000${key.target}`;
    const t = this.byTarget.get(id) ?? { route: key.route, target: key.target, deliveries: new Map<string, Failing>(), lastError: "" };
    this.byTarget.set(id, t);
    t.deliveries.set(deliveryId, { receivedAtMs, retryAt });
    t.lastError = error;
  }

  /** The delivery is finished (delivered, skipped, dead): no longer failing. */
  settled(key: TargetKey, deliveryId: string): void {
    const id = `${key.route}\u0000${key.target}`;
    const t = this.byTarget.get(id);
    if (!t) return;
    t.deliveries.delete(deliveryId);
    if (t.deliveries.size === 0) this.byTarget.delete(id);
  }

  /** One line per target with failing deliveries; forgets the stale ones first. */
  summary(now: number): FailingSummary[] {
    const out: FailingSummary[] = [];
    for (const [id, t] of this.byTarget) {
      let oldest = Number.POSITIVE_INFINITY;
      for (const [deliveryId, f] of t.deliveries) {
        if (f.retryAt + this.staleAfterMs < now) t.deliveries.delete(deliveryId);
        else oldest = Math.min(oldest, f.receivedAtMs);
      }
      if (t.deliveries.size === 0) {
        this.byTarget.delete(id);
        continue;
      }
      out.push({
        route: t.route,
        target: t.target,
        failing: t.deliveries.size,
        oldestAgeSeconds: Math.max(0, Math.round((now - oldest) / 1000)),
        lastError: t.lastError,
      });
    }
    return out;
  }
}
