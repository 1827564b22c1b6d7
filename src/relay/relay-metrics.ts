import { Counter, Gauge, type Registry } from "prom-client";
import type { CompiledConfig } from "../config/compile.js";
import type { Store } from "../store/store.js";

/**
 * The relay's metrics, on the daemon's registry. Edge: how far behind each relay target's puller
 * is, and how many events were handed out. Home: per relay, events pulled, acknowledged, and
 * connections made again after a failure or stall.
 */
export class RelayMetrics {
  readonly lag: Gauge<"route" | "target">;
  readonly handedOut: Counter<"route" | "target">;
  readonly pulled: Counter<"relay">;
  readonly acknowledged: Counter<"relay">;
  readonly reconnects: Counter<"relay">;

  constructor(registry: Registry, store: Store, config: () => CompiledConfig) {
    const registers = [registry];
    this.lag = new Gauge({
      name: "switchyard_relay_lag_seconds",
      help: "Age of the oldest event of a relay target not yet acknowledged by a puller, waiting or handed out (0 when none).",
      labelNames: ["route", "target"],
      registers,
      // Read from the store at scrape time: true whichever instance took the event.
      async collect() {
        try {
          const lags = await relayLags(store, config());
          this.reset();
          for (const l of lags) this.set({ route: l.route, target: l.target }, l.seconds);
        } catch {
          // Store unavailable: keep the last values; /readyz reports the outage.
        }
      },
    });
    this.handedOut = new Counter({
      name: "switchyard_relay_handed_out_total",
      help: "Events a relay target handed out to pullers (again after an expired lease).",
      labelNames: ["route", "target"],
      registers,
    });
    this.pulled = new Counter({
      name: "switchyard_relay_pulled_total",
      help: "Events this instance pulled from a relay.",
      labelNames: ["relay"],
      registers,
    });
    this.acknowledged = new Counter({
      name: "switchyard_relay_acknowledged_total",
      help: "Pulled events acknowledged to the relay after they were stored here (or refused by the route's verify).",
      labelNames: ["relay"],
      registers,
    });
    this.reconnects = new Counter({
      name: "switchyard_relay_reconnects_total",
      help: "Pulls made again after an error or a stalled connection.",
      labelNames: ["relay"],
      registers,
    });
  }

  /** Every series at 0 from the start, so a rate() has a beginning. */
  declare(config: CompiledConfig): void {
    for (const { route, target } of config.relayPaths.values()) this.handedOut.inc({ route: route.name, target: target.name }, 0);
    for (const r of config.relays) {
      this.pulled.inc({ relay: r.name }, 0);
      this.acknowledged.inc({ relay: r.name }, 0);
      this.reconnects.inc({ relay: r.name }, 0);
    }
  }
}

export interface RelayLag {
  route: string;
  target: string;
  seconds: number;
}

/**
 * Each relay target's lag: the age of its oldest delivery not yet acknowledged, waiting or
 * handed out (0 when there is none). Leased ones count too: an event a puller keeps failing to
 * take is leased again and again, and is exactly the lag to show.
 */
export async function relayLags(store: Store, config: CompiledConfig): Promise<RelayLag[]> {
  if (config.relayPaths.size === 0) return [];
  const now = Date.now();
  const keys = [...config.relayPaths.values()].map(({ route, target }) => ({ route: route.name, target: target.name }));
  const [backlog, leased] = await Promise.all([store.backlog(), store.leasedBacklog(keys)]);
  const waiting = new Map<string, number>();
  for (const b of [...backlog, ...leased]) {
    const key = `${b.route}\0${b.target}`;
    waiting.set(key, Math.min(waiting.get(key) ?? b.nextDueAt, b.nextDueAt));
  }
  return [...config.relayPaths.values()].map(({ route, target }) => {
    const due = waiting.get(`${route.name}\0${target.name}`);
    return { route: route.name, target: target.name, seconds: due === undefined ? 0 : Math.max(0, (now - due) / 1000) };
  });
}
