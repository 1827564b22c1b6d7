import type { Logger } from "pino";
import type { Store } from "./store.js";

/**
 * Deletes finished events past `store.retention`, often and in small batches (the stores' prune
 * commits a few hundred rows at a time and yields between them), so that under steady traffic
 * the store's file stops growing once it holds one retention's worth, instead of growing for an
 * hour and then deleting an hour's worth at once.
 */

const MIN_EVERY_MS = 1_000;
const MAX_EVERY_MS = 60_000;
/** A failing prune is logged at most this often. */
const FAILURE_LOG_MS = 60_000;

/** A tenth of the retention, between 1 s and 1 min: the file holds at most ~10% past retention. */
export function pruneEveryMs(retentionMs: number): number {
  return Math.min(MAX_EVERY_MS, Math.max(MIN_EVERY_MS, Math.floor(retentionMs / 10)));
}

export interface PrunerDeps {
  store: Store;
  log: Logger;
  /** Read at every run, so a reloaded `store.retention` applies to the next one. */
  retentionMs: () => number;
}

export class Pruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastFailureLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: PrunerDeps) {}

  /** Prunes now, then every pruneEveryMs(retention). */
  start(): void {
    this.runSoon();
  }

  /** The retention changed: prune at once (after the run in progress, if any). */
  runSoon(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.runSoon();
      } else this.schedule();
    });
  }

  /** No more runs. A run in progress is not waited for: its next batch fails on the closed store, silently. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.runSoon(), pruneEveryMs(this.deps.retentionMs()));
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const now = Date.now();
    try {
      const n = await this.deps.store.prune(now - this.deps.retentionMs(), now);
      if (n > 0) this.deps.log.debug({ pruned: n }, "finished events past retention pruned");
    } catch (err) {
      if (this.stopped) return;
      // Every run fails while the store is down (as often as once a second): one line a minute.
      const at = Date.now();
      if (at - this.lastFailureLoggedAt < FAILURE_LOG_MS) return;
      this.lastFailureLoggedAt = at;
      this.deps.log.warn({ err: (err as Error).message }, "pruning failed; will try again");
    }
  }
}
