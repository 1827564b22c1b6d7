import type { Logger } from "pino";
import type { Alert } from "../alerts/alert.js";
import type { CompiledConfig } from "../config/compile.js";
import type { Store } from "../store/store.js";
import { relayLags } from "./relay-metrics.js";

/** The slowest look at the lags; a short `lag_alert` is looked at four times within it. */
const MAX_CHECK_MS = 30_000;
const MIN_CHECK_MS = 250;

/**
 * Raises `relay.lagging` on the edge when a relay target's oldest unacknowledged event is older
 * than its `lag_alert`: once when it passes, again only after the lag fell below and passed
 * again, so a home that is down for a day is one alert, not one per look.
 */
export class RelayLagAlerts {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** `route\0target` of the targets whose lag is past their threshold now. */
  private readonly lagging = new Set<string>();

  constructor(
    private readonly o: {
      store: Store;
      config: () => CompiledConfig;
      raise: (alert: Alert) => void;
      log: Logger;
    },
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const thresholds = [...this.o.config().relayPaths.values()].flatMap((e) => e.target.target.pulled?.lagAlertMs ?? []);
    const delay = Math.max(MIN_CHECK_MS, Math.min(MAX_CHECK_MS, ...thresholds.map((t) => t / 4)));
    this.timer = setTimeout(() => void this.check().finally(() => this.schedule()), delay);
    // A look at the lags never keeps the process alive.
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const config = this.o.config();
    if (config.relayPaths.size === 0) {
      this.lagging.clear();
      return;
    }
    let lags: Awaited<ReturnType<typeof relayLags>>;
    try {
      lags = await relayLags(this.o.store, config);
    } catch (err) {
      // The store is down: its own alert says so; the lag is looked at again next time.
      this.o.log.debug({ err: (err as Error).message }, "relay lag check failed");
      return;
    }
    const thresholds = new Map(
      [...config.relayPaths.values()].map(({ route, target }) => [`${route.name}\0${target.name}`, target.target.pulled?.lagAlertMs]),
    );
    const now = new Set<string>();
    for (const lag of lags) {
      const key = `${lag.route}\0${lag.target}`;
      const threshold = thresholds.get(key);
      if (threshold === undefined || lag.seconds * 1000 < threshold) continue;
      now.add(key);
      if (this.lagging.has(key)) continue;
      const since = Math.round(Date.now() - lag.seconds * 1000);
      this.o.raise({
        kind: "relay.lagging",
        route: lag.route,
        target: lag.target,
        error: `The oldest has waited ${Math.round(lag.seconds)} s (lag_alert ${Math.round(threshold / 1000)} s).`,
        // Instances sharing a store that see the same oldest event store one alert.
        key: `relay.lagging:${lag.route}/${lag.target}:${since - (since % 1000)}`,
      });
    }
    this.lagging.clear();
    for (const key of now) this.lagging.add(key);
  }
}
