import type { CountRow, Store } from "../store/store.js";
import type { ReceiveOutcome } from "../telemetry/metrics.js";

/**
 * Per-minute counters for the console's overview, counted in memory and added to the store every
 * few seconds (one transaction or one MULTI for all of them), so ingress pays a Map update per
 * request, and the numbers survive a restart. Several daemons sharing a store add up.
 */

/** How often the counters are added to the store. */
export const TALLY_FLUSH_MS = 5_000;

/** Upper bounds of the latency buckets, in ms; the last bucket is open ("inf"). */
export const LATENCY_BUCKETS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];

/** The counter name of a latency bucket: `ms_le_250`, or `ms_le_inf` past the last bound. */
export function latencyBucket(ms: number): string {
  const bound = LATENCY_BUCKETS_MS.find((b) => ms <= b);
  return `ms_le_${bound ?? "inf"}`;
}

export type DeliveryCount = "delivered" | "retry" | "dead" | "skipped";

const MINUTE = 60_000;
/** Counters not yet stored are kept at most this long while the store is down, then dropped. */
const KEEP_UNFLUSHED_MS = 60 * MINUTE;

export interface TallyLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

export class Tally {
  private pending = new Map<string, CountRow>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private failedSince: number | undefined;
  private readonly errors = new Map<string, { at: number; error: string }>();

  constructor(
    private readonly store: Store,
    private readonly log: TallyLog,
    private readonly now: () => number = Date.now,
  ) {}

  start(everyMs = TALLY_FLUSH_MS): void {
    this.timer ??= setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
  }

  /** A webhook's outcome on its route (what switchyard_events_received_total counts). */
  received(route: string, outcome: ReceiveOutcome): void {
    this.add(route, "", outcome);
  }

  /** A delivery attempt's outcome and how long it took; a failed one's error is remembered per target. */
  delivered(route: string, target: string, outcome: DeliveryCount, durationMs: number, error?: string): void {
    this.add(route, target, outcome);
    if (outcome !== "skipped") this.add(route, target, latencyBucket(durationMs));
    if (error !== undefined) this.errors.set(`${route}\u0000${target}`, { at: this.now(), error });
  }

  /** The newest error per `route\0target` seen by this process (one entry per target). */
  get lastErrors(): ReadonlyMap<string, { at: number; error: string }> {
    return this.errors;
  }

  private add(route: string, target: string, name: string): void {
    const minute = Math.floor(this.now() / MINUTE) * MINUTE;
    const key = `${minute}\u0000${route}\u0000${target}\u0000${name}`;
    const row = this.pending.get(key);
    if (row) row.n++;
    else this.pending.set(key, { minute, route, target, name, n: 1 });
  }

  /** Adds what was counted to the store; on a fault keeps it for the next flush (up to an hour). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const batch = this.pending;
      this.pending = new Map();
      try {
        await this.store.addCounts([...batch.values()]);
        this.failedSince = undefined;
      } catch (err) {
        const now = this.now();
        if (this.failedSince === undefined) {
          this.failedSince = now;
          this.log.warn({ err: (err as Error).message }, "could not store the console's counters; kept in memory and tried again");
        }
        for (const [key, row] of batch) {
          if (row.minute < now - KEEP_UNFLUSHED_MS) continue;
          const newer = this.pending.get(key);
          if (newer) newer.n += row.n;
          else this.pending.set(key, row);
        }
      }
    });
    return this.flushing;
  }

  /** Stops the timer and stores what is left (the daemon is stopping, the store still open). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
