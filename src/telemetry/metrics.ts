import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { QueueDepth } from "../store/store.js";

/**
 * Every metric, declared once per daemon on its own registry (prom-client's global registry
 * would make two daemons in one process, as in tests, collide). Labels are few and bounded:
 * route and target names from the config, and closed sets of outcomes.
 */

export type ReceiveOutcome = "accepted" | "rejected" | "duplicate" | "ignored" | "invalid";
export type DeliveryMetricOutcome = "success" | "retry" | "dead";
/** Why the ingress turned a client away before reading its request: a bounded set of limits. */
export type RefusalReason = "max_connections" | "inflight_body_limit";

const RECEIVE_OUTCOMES: readonly ReceiveOutcome[] = ["accepted", "rejected", "duplicate", "ignored", "invalid"];
const DELIVERY_OUTCOMES: readonly DeliveryMetricOutcome[] = ["success", "retry", "dead"];
const REFUSAL_REASONS: readonly RefusalReason[] = ["max_connections", "inflight_body_limit"];
/** How a webhook waiting for its target's answer (`respond.target`) was answered. */
export type AnswerKind = "target" | "fallback" | "on_failure";
const ANSWER_KINDS: readonly AnswerKind[] = ["target", "fallback", "on_failure"];

export class Metrics {
  readonly registry = new Registry();
  readonly eventsReceived: Counter<"route" | "outcome">;
  readonly deliveries: Counter<"route" | "target" | "outcome">;
  readonly deliveryDuration: Histogram<"route" | "target">;
  readonly queueDepth: Gauge<"state">;
  readonly reloadSuccessful: Gauge;
  readonly reloadSuccessTimestamp: Gauge;
  readonly reloads: Counter<"result">;
  readonly ingressRefused: Counter<"reason">;
  readonly storeDataLost: Counter;
  readonly walBytes: Gauge;
  readonly targetConnected: Gauge<"route" | "target">;
  readonly targetPaused: Gauge<"route" | "target">;
  /** The targets whose gauge is 1. */
  private readonly pausedSeries = new Set<string>();
  readonly answers: Counter<"route" | "answer">;

  constructor(
    depth: () => Promise<QueueDepth>,
    walBytes: () => number | undefined = () => undefined,
    connections: () => readonly { route: string; target: string; connected: boolean }[] = () => [],
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.eventsReceived = new Counter({
      name: "switchyard_events_received_total",
      help: "Webhook requests received on a route, by outcome (accepted, rejected, duplicate, ignored, invalid).",
      labelNames: ["route", "outcome"],
      registers,
    });
    this.deliveries = new Counter({
      name: "switchyard_deliveries_total",
      help: "Delivery attempts by outcome: success, retry (a retry was scheduled) or dead (out of attempts).",
      labelNames: ["route", "target", "outcome"],
      registers,
    });
    this.deliveryDuration = new Histogram({
      name: "switchyard_delivery_duration_seconds",
      help: "How long one delivery attempt took.",
      labelNames: ["route", "target"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.queueDepth = new Gauge({
      name: "switchyard_queue_depth",
      help: "Deliveries in the store by state: pending (waiting or in flight), retrying, dead.",
      labelNames: ["state"],
      registers,
      // Read from the store at scrape time, so it is true even for work done by other processes.
      async collect() {
        try {
          const d = await depth();
          this.set({ state: "pending" }, d.pending);
          this.set({ state: "retrying" }, d.retrying);
          this.set({ state: "dead" }, d.dead);
        } catch {
          // Store unavailable: leave the last values; /readyz reports the outage.
        }
      },
    });
    this.reloadSuccessful = new Gauge({
      name: "switchyard_config_last_reload_successful",
      help: "1 if the last config load or reload succeeded, 0 if it failed (the previous config is still serving).",
      registers,
    });
    this.reloadSuccessTimestamp = new Gauge({
      name: "switchyard_config_last_reload_success_timestamp_seconds",
      help: "Unix time of the last successful config load or reload.",
      registers,
    });
    this.reloads = new Counter({
      name: "switchyard_config_reloads_total",
      help: "Config reloads by result (success, failure).",
      labelNames: ["result"],
      registers,
    });
    this.reloads.inc({ result: "success" }, 0);
    this.reloads.inc({ result: "failure" }, 0);
    this.ingressRefused = new Counter({
      name: "switchyard_ingress_refused_total",
      help: "Connections and webhooks turned away by a limit before being read: max_connections (closed at once), inflight_body_limit (503).",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.ingressRefused.inc({ reason }, 0);
    this.storeDataLost = new Counter({
      name: "switchyard_store_data_lost_total",
      help: "Times the Redis store came back without the data this instance saw in it (a restart without persistence, FLUSHALL, eviction).",
      registers,
    });
    this.storeDataLost.inc(0);
    this.walBytes = new Gauge({
      name: "switchyard_store_wal_bytes",
      help: "Size of the SQLite store's write-ahead log file in bytes (0 for Redis). It grows while checkpoints fail.",
      registers,
      // Read at scrape time: one fstat.
      collect() {
        this.set(walBytes() ?? 0);
      },
    });
    this.answers = new Counter({
      name: "switchyard_answers_total",
      help: "Webhooks of routes with respond.target, by what they were answered: target (its own answer), fallback (not within respond.timeout), on_failure.",
      labelNames: ["route", "answer"],
      registers,
    });
    this.targetConnected = new Gauge({
      name: "switchyard_target_connected",
      help: "1 while a target that keeps a connection (mqtt, nats, amqp) is connected to its broker, 0 while it is not.",
      labelNames: ["route", "target"],
      registers,
      // Read at scrape time from the live config: a target a reload removed has no series.
      collect() {
        this.reset();
        for (const c of connections()) this.set({ route: c.route, target: c.target }, c.connected ? 1 : 0);
      },
    });
    this.targetPaused = this.declareTargetPaused(registers);
  }

  /** Declared last so that the other metrics keep their order in /metrics. */
  private declareTargetPaused(registers: Registry[]): Gauge<"route" | "target"> {
    return new Gauge({
      name: "switchyard_target_paused",
      help: "1 while a target is paused after failing for a stretch (pause_after), else 0.",
      labelNames: ["route", "target"],
      registers,
    });
  }

  /** Makes every series of the config's routes and targets visible at 0, so rate() works from the start. */
  declareRoutes(routes: readonly { name: string; targetNames: readonly string[]; respond?: { target?: unknown } }[]): void {
    for (const r of routes) {
      for (const outcome of RECEIVE_OUTCOMES) this.eventsReceived.inc({ route: r.name, outcome }, 0);
      if (r.respond?.target) for (const answer of ANSWER_KINDS) this.answers.inc({ route: r.name, answer }, 0);
      for (const target of r.targetNames) {
        for (const outcome of DELIVERY_OUTCOMES) this.deliveries.inc({ route: r.name, target, outcome }, 0);
        // A paused target's 1 is set by the worker; only a series not seen yet starts at 0.
        if (!this.pausedSeries.has(`${r.name}\u0000${target}`)) this.targetPaused.set({ route: r.name, target }, 0);
      }
    }
  }

  /** Sets a target's paused gauge. */
  setPaused(route: string, target: string, paused: boolean): void {
    const key = `${route}\u0000${target}`;
    if (paused) this.pausedSeries.add(key);
    else this.pausedSeries.delete(key);
    this.targetPaused.set({ route, target }, paused ? 1 : 0);
  }

  configLoaded(ok: boolean, now = Date.now()): void {
    this.reloadSuccessful.set(ok ? 1 : 0);
    if (ok) this.reloadSuccessTimestamp.set(now / 1000);
  }
}
