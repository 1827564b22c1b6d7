/**
 * Webhooks refused because the store is unavailable, for the log: during an outage every
 * request fails the same way, and a line each would flood the log exactly when it matters. The
 * first refusal of an outage (or of a new fault) is worth an error line, then one a minute with
 * the count; the rest go to debug. One per ingress app, never module state.
 */

const REMIND_EVERY_MS = 60_000;

export class StoreRefusals {
  private refused = 0;
  private sinceLine = 0;
  private lastError: string | undefined;
  private lastLineAt = Number.NEGATIVE_INFINITY;

  /** Counts a refusal; the number refused since the last error line if this one deserves a line, else undefined. */
  refuse(error: string, now: number): number | undefined {
    this.refused++;
    this.sinceLine++;
    if (error === this.lastError && now - this.lastLineAt < REMIND_EVERY_MS) return undefined;
    this.lastError = error;
    this.lastLineAt = now;
    const n = this.sinceLine;
    this.sinceLine = 0;
    return n;
  }

  /** A webhook was stored: ends an outage. How many were refused during it (0 when there was none). */
  accepted(): number {
    if (this.refused === 0) return 0;
    const n = this.refused;
    this.refused = 0;
    this.sinceLine = 0;
    this.lastError = undefined;
    this.lastLineAt = Number.NEGATIVE_INFINITY;
    return n;
  }
}
